// Scripts and trackers that touch the host: processes, files, /proc.
export { createScriptRunner, runScript, needsShell, shellCommand, superviseRun } from './script.js';
export type { ScriptResult, ScriptRun, ScriptRunner, ScriptRunnerOptions, ScriptSpec } from './script.js';
export { runScriptActor } from './scriptActor.js';
export { createSpawnerRunner } from './spawner.js';
export type { SpawnerOptions, SpawnerRunner } from './spawner.js';
export { UserResolver, parseGroup, parsePasswd } from './users.js';
export { parseTrackFileValue, readTrackFile, watchTrackFile } from './trackFile.js';
export type { TrackFileOptions, TrackFileStart, TrackFileWatch } from './trackFile.js';
export { decodeProcEvent, matches, parseStat, processSpecFromConfig, trackProcesses } from './trackProcess.js';
export type { ProcessSpec, ProcessTracking, ProcessTrackerOptions, QuorumChange } from './trackProcess.js';
