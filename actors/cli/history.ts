// `vigil history INSTANCE`: see events.ts.
export { history as run } from './events.js';
