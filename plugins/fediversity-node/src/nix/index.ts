export { toNixString, toNixAttributeName, renderNixValue } from './nixValue';
export type { NixValue } from './nixValue';
export {
  DEFAULT_FLAKE_DIR,
  validateHostDescription,
  renderHostDescription,
  renderHostDescriptionNix,
  renderHostFiles,
  nixosRebuildCommand,
} from './hostFiles';
export type { RenderedFile } from './hostFiles';
export { createNixInstantiate, isNixInstantiateAvailable } from './nixInstantiate';
export type { NixInstantiate, NixInstantiateOptions } from './nixInstantiate';
export { readFlakeFiles } from './flakeFiles';
