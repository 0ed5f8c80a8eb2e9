export {};
export * from './nix';
export * from './proxmox';
export * from './ssh';
export * from './dns';
export * from './demo';
export * from './guests';
export * from './postgres';
