export {};
export * from './nix';
export * from './proxmox';
