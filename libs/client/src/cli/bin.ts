#!/usr/bin/env node
// The `pubsub` command of @p2p-pubsub/client. It loads the client alone (no
// Nest), so that a call starts in about a tenth of a second.
import { clientCommands } from './commands';
import { main } from './main';

main(clientCommands);
