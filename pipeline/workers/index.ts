export { spawnSiblingWorker } from './spawn.ts';
