// The `session:` section of the real daemon as the official readers see it: the sensor mix fills
// several rotated files and SIGUSR1 marks an event; every file, continuous and event, opens in
// the official indexed and stream readers (every CRC checked) and carries exactly one
// `mcaprec.session` record and one `foxglove` record with deviceId/deviceName, the keys
// Foxglove's import looks for, so that each file names its device on its own.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import {
  daemonScratch,
  freeTcpPort,
  sleep,
  waitForExit,
  waitUntilListening,
  writeDaemonConfig,
} from "./lib/daemon.mjs";
import { run, toolPath } from "./lib/env.mjs";
import { checkEveryCrc, mapToObject, readBoth } from "./lib/official.mjs";

const kSession = { device_id: "car-7", device_name: "Test Car 7", driver: "ann", route: "A9: north" };
const kFoxglove = { deviceId: "car-7", deviceName: "Test Car 7" };

const scratch = daemonScratch();

async function waitFor(predicate, daemon, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out; mcaprecd stderr:\n${daemon.stderrText}`);
    await sleep(50);
  }
}

test("every rotated file and every event file carries the session and foxglove records", {
  timeout: 60000,
}, async () => {
  const port = await freeTcpPort();
  const { config, output } = await writeDaemonConfig(scratch.dir, [
    "  max_bytes: 512KiB",
    "  min_free_bytes: 0",
    "mcap:",
    "  chunk_size: 64KiB",
    "  chunk_max_age: 100ms",
    "pipeline:",
    "  compressor_threads: 1",
    "  memory_budget: 64MiB",
    "events:",
    "  look_back: 10s",
    "  spool_bytes: 0",
    "  before: 10s",
    "  after: 100ms",
    "control:",
    '  socket: ""',
    "session:",
    "  device_id: car-7",
    "  device_name: Test Car 7",
    "  metadata: {driver: ann, route: 'A9: north'}",
    "sources:",
    "  - name: mix",
    "    transport: tcp",
    `    bind: 127.0.0.1:${port}`,
    "logging:",
    "  level: warn",
  ]);
  const daemon = scratch.start(config);
  await waitUntilListening(port, daemon, 10000);

  const sent = run(toolPath(), ["send", `tcp://127.0.0.1:${port}`, "--duration", "400ms"], 30000);
  assert.equal(sent.status, 0, sent.stderr);
  const names = async () => (await readdir(output)).filter((name) => name.endsWith(".mcap"));
  await waitFor(async () => (await names()).length >= 3, daemon, 15000);
  daemon.kill("SIGUSR1");
  await waitFor(async () => (await names()).some((n) => n.includes("_event_")), daemon, 15000);
  daemon.kill("SIGTERM");
  const exit = await waitForExit(daemon, 15000);
  assert.deepEqual(exit, { code: 0, signal: null }, `mcaprecd stderr:\n${daemon.stderrText}`);

  const files = (await names()).sort();
  assert.ok(files.filter((n) => !n.includes("_event_")).length >= 3, `rotated: ${files}`);
  assert.equal(files.filter((n) => n.includes("_event_")).length, 1, `event file: ${files}`);
  for (const name of files) {
    const path = join(output, name);
    assert.ok(!existsSync(`${path}.active`));
    const { bytes, indexed, streamed } = await readBoth(path);
    checkEveryCrc(bytes, indexed, streamed);
    for (const [reader, records] of [["indexed", indexed.metadata], ["stream", streamed.metadata]]) {
      const named = (n) => records.filter((record) => record.name === n);
      assert.equal(named("mcaprec.session").length, 1, `${name} (${reader}): mcaprec.session`);
      assert.equal(named("foxglove").length, 1, `${name} (${reader}): foxglove`);
      assert.deepEqual(mapToObject(named("mcaprec.session")[0].metadata), kSession, name);
      assert.deepEqual(mapToObject(named("foxglove")[0].metadata), kFoxglove, name);
    }
  }
});
