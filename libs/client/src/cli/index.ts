// `@p2p-pubsub/client/cli`: the `pubsub` command's table and runner, for tools
// that add commands of their own (the repository's CLI adds `cluster`).
export * from './cli-command';
export { clientCommands, withHelp } from './commands';
export { main } from './main';
export { runCli, type CliIo } from './run-cli';
export * from './message-format';
export { collectStatus, formatStatus, type ClusterStatus, type PeerStatus } from './status';
