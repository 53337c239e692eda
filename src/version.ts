// Warren's version, from package.json (the single place it is written).
import packageJson from '../package.json' with { type: 'json' };

export const warrenVersion: string = packageJson.version;
