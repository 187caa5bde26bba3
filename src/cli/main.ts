#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
/** Entry point of the `phigate` command. */
import { runCli } from './program.js';

await runCli(process.argv.slice(2));
