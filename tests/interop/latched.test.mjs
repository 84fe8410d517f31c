// Latched topics through the real daemon: two publishers (two TCP connections) send their
// /tf_static once, then a third streams data until the daemon has rotated by size many times.
// Each recorded file, opened alone in the official indexed reader (every CRC checked), holds
// both latched messages exactly once, with their original log times, before any other message;
// /metrics counts the repeats apart from the messages written once.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";

import { McapWriter } from "@mcap/core";

import {
  daemonScratch,
  freeTcpPort,
  sleep,
  waitForExit,
  waitUntilListening,
  writeDaemonConfig,
} from "./lib/daemon.mjs";
import { readIndexed } from "./lib/official.mjs";
import { makePayload } from "./lib/payload.mjs";

const kBase = 1_763_900_000_000_000_000n;
const kDataMessages = 400;

// The whole of `buffers` written to a new connection, which is then closed after the daemon
// read it all.
async function sendOver(port, build) {
  const socket = await new Promise((r, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => r(s));
    s.once("error", reject);
  });
  const writable = {
    written: 0n,
    position() {
      return this.written;
    },
    write(buffer) {
      this.written += BigInt(buffer.byteLength);
      return new Promise((r, reject) => {
        if (socket.write(buffer, (error) => error && reject(error))) r();
        else socket.once("drain", r);
      });
    },
  };
  const writer = new McapWriter({ writable, useChunks: false });
  await writer.start({ profile: "", library: "interop latched" });
  await build(writer);
  await writer.end();
  const closed = new Promise((r) => socket.once("close", r));
  socket.end();
  socket.resume();
  await closed;
}

async function sendLatched(port, data, logTime) {
  await sendOver(port, async (writer) => {
    const channelId = await writer.registerChannel({
      topic: "/tf_static",
      messageEncoding: "json",
      schemaId: 0,
      metadata: new Map(),
    });
    await writer.addMessage({ channelId, sequence: 1, logTime, publishTime: logTime, data });
  });
}

async function metricValue(port, name, topic) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && l.includes(`topic="${topic}"`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

const scratch = daemonScratch();

test("every size-rotated file alone yields each publisher's latched message once, first", {
  timeout: 40000,
}, async () => {
  const port = await freeTcpPort();
  const metricsPort = await freeTcpPort();
  const { config, output } = await writeDaemonConfig(scratch.dir, [
    "  prefix: latched",
    "  max_bytes: 64KiB",
    "  min_free_bytes: 0",
    "mcap:",
    "  compression: none",
    "  chunk_size: 16KiB",
    "  chunk_max_age: 50ms",
    "pipeline:",
    "  compressor_threads: 1",
    "  memory_budget: 64MiB",
    "sources:",
    "  - name: producers",
    "    transport: tcp",
    `    bind: 127.0.0.1:${port}`,
    "    format: mcap",
    "channels:",
    "  - {topic: /tf_static, latch: true}",
    "metrics:",
    `  bind: 127.0.0.1:${metricsPort}`,
    "logging:",
    "  level: warn",
  ]);
  const daemon = scratch.start(config);
  await waitUntilListening(port, daemon, 10000);

  const baseLink = new TextEncoder().encode('{"child":"base_link"}');
  const lidar = new TextEncoder().encode('{"child":"lidar"}');
  await sendLatched(port, baseLink, kBase);
  await sendLatched(port, lidar, kBase + 1000n);
  await sleep(300);  // both written (chunk_max_age) before the data starts rotating files

  await sendOver(port, async (writer) => {
    const channelId = await writer.registerChannel({
      topic: "/data",
      messageEncoding: "",
      schemaId: 0,
      metadata: new Map(),
    });
    for (let i = 0; i < kDataMessages; i++) {
      const logTime = kBase + 1_000_000n + BigInt(i) * 1_000_000n;
      const data = makePayload(2000, i + 1, "random");
      await writer.addMessage({ channelId, sequence: i, logTime, publishTime: logTime, data });
    }
  });
  // Once every data message is written, no file starts any more: the repeats are final.
  const deadline = Date.now() + 15000;
  while ((await metricValue(metricsPort, "mcaprec_channel_messages_written_total", "/data")) !==
         kDataMessages) {
    assert.ok(Date.now() < deadline, "the data was not written in time");
    await sleep(50);
  }
  const relatched = await metricValue(
    metricsPort, "mcaprec_channel_messages_relatched_total", "/tf_static");
  assert.equal(
    await metricValue(metricsPort, "mcaprec_channel_messages_written_total", "/tf_static"), 2);

  daemon.kill("SIGTERM");
  const exit = await waitForExit(daemon, 12000);
  assert.deepEqual(exit, { code: 0, signal: null }, `mcaprecd stderr:\n${daemon.stderrText}`);

  const files = (await readdir(output)).filter((name) => name.endsWith(".mcap")).sort();
  assert.ok(files.length >= 5, `expected many rotations, got ${files.length} files`);
  assert.equal(relatched, 2 * (files.length - 1), "repeats counted once per later file");
  let data = 0;
  for (const name of files) {
    const { reader, messages, metadata } = await readIndexed(join(output, name));
    const latched = messages.filter((m) => m.topic === "/tf_static");
    assert.equal(latched.length, 2, `${name}: latched messages`);
    const times = latched.map((m) => m.logTime).sort();
    assert.deepEqual(times, [kBase, kBase + 1000n], `${name}: original log times`);
    const info = metadata.find((m) => m.name === "mcaprec");
    if (info.metadata.get("start_reason") !== "start") {
      // A rotated file: its first chunk holds both latched messages, and nothing newer.
      const first = [...reader.chunkIndexes].sort((a, b) =>
        a.chunkStartOffset < b.chunkStartOffset ? -1 : 1)[0];
      assert.equal(first.messageStartTime, kBase, `${name}: first chunk starts latched`);
      assert.equal(first.messageEndTime, kBase + 1000n, `${name}: first chunk is the latch`);
    }
    data += messages.length - latched.length;
  }
  assert.equal(data, kDataMessages, "each data message once across the files");
});
