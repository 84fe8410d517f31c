// A recording cut off mid-chunk (as a crash leaves it), completed by `mcaprec recover`, opens in
// the official TypeScript readers with every CRC checked, and holds exactly the messages of the
// chunks that were complete: the official stream reader fed the cut bytes is the judge of which
// those are. The file comes from the official writer, so recovery also handles another writer's
// layout (its message index order, its records outside chunks).
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";

import zstd from "@foxglove/wasm-zstd";
import { McapStreamReader, McapWriter, TempBuffer } from "@mcap/core";
import { loadDecompressHandlers } from "@mcap/support";

import { makeTempDir, removeDir, run, toolPath } from "./lib/env.mjs";
import { byTimeTopicSequence, checkEveryCrc, readBoth } from "./lib/official.mjs";
import { makePayload } from "./lib/payload.mjs";

const kBase = 1_763_800_000_000_000_000n;
const kText = "recovered by mcaprec after a crash: lorem ipsum dolor sit amet 1234567890\n";

let dir;
before(async () => {
  await zstd.isLoaded;
  dir = await makeTempDir();
});
after(() => removeDir(dir));

async function writeRecording() {
  const buffer = new TempBuffer();
  const writer = new McapWriter({
    writable: buffer,
    chunkSize: 4096,
    compressChunk: (data) => ({ compression: "zstd", compressedData: zstd.compress(data, 3) }),
  });
  await writer.start({ profile: "", library: "interop-recovery" });
  const schemaId = await writer.registerSchema({
    name: "pkg/Sample",
    encoding: "jsonschema",
    data: new TextEncoder().encode("{}"),
  });
  const channels = [];
  for (const topic of ["/a", "/b", "/c"]) {
    channels.push(
      await writer.registerChannel({ topic, messageEncoding: "json", schemaId, metadata: new Map() }),
    );
  }
  for (let i = 0; i < 400; i++) {
    await writer.addMessage({
      channelId: channels[i % 3],
      sequence: i,
      logTime: kBase + BigInt((i * 7) % 400) * 1000n,  // out of order within chunks
      publishTime: kBase + BigInt(i),
      data: makePayload(100 + ((i * 37) % 400), i, "text", kText),
    });
  }
  await writer.end();
  return buffer.get();
}

// The messages the official stream reader decodes from `bytes`: those of complete chunks only.
async function messagesOfCompleteChunks(bytes) {
  const reader = new McapStreamReader({ decompressHandlers: await loadDecompressHandlers() });
  reader.append(bytes);
  const topics = new Map();
  const messages = [];
  for (let record; (record = reader.nextRecord()); ) {
    if (record.type === "Channel") topics.set(record.id, record.topic);
    if (record.type === "Message") messages.push({ ...record, topic: topics.get(record.channelId) });
  }
  return messages;
}

const comparable = (messages) =>
  [...messages]
    .sort(byTimeTopicSequence)
    .map((m) => `${m.topic}#${m.sequence}@${m.logTime}:${Buffer.from(m.data).toString("base64")}`);

test("a recording cut mid-chunk, recovered by mcaprec, opens in the official readers", async () => {
  const original = await writeRecording();
  const originalPath = join(dir, "original.mcap");
  await writeFile(originalPath, original);
  const chunkIndexes = (await readBoth(originalPath)).indexed.reader.chunkIndexes;
  assert.ok(chunkIndexes.length > 8, `only ${chunkIndexes.length} chunks`);
  const victim = chunkIndexes[chunkIndexes.length - 3];
  const cut = Number(victim.chunkStartOffset + victim.chunkLength / 2n);
  const cutBytes = original.subarray(0, cut);
  const expected = await messagesOfCompleteChunks(cutBytes);
  assert.ok(expected.length > 0 && expected.length < 400, `${expected.length} messages kept`);

  const active = join(dir, "rec.mcap.active");
  await writeFile(active, cutBytes);
  const result = run(toolPath(), ["recover", active]);
  // 3: recovered, with the torn chunk cut.
  assert.equal(result.status, 3, `mcaprec recover failed:\n${result.stdout}${result.stderr}`);
  assert.match(result.stdout, new RegExp(`kept: +${chunkIndexes.length - 3} chunks`));

  const recovered = await readBoth(join(dir, "rec.mcap"));
  const { reader } = recovered.indexed;
  assert.equal(reader.chunkIndexes.length, chunkIndexes.length - 3);
  assert.deepEqual(comparable(recovered.indexed.messages), comparable(expected));
  assert.deepEqual(comparable(recovered.streamed.messages), comparable(expected));
  assert.equal(reader.statistics.messageCount, BigInt(expected.length));
  assert.deepEqual(
    recovered.indexed.metadata.map((m) => m.name),
    ["mcaprec.recovery"],
    "the recovery leaves a record of itself",
  );
  checkEveryCrc(recovered.bytes, recovered.indexed, recovered.streamed);
  // The kept bytes are the original bytes.
  const bytes = new Uint8Array(await readFile(join(dir, "rec.mcap")));
  const kept = Number(victim.chunkStartOffset);
  assert.ok(Buffer.from(bytes.subarray(0, kept)).equals(Buffer.from(original.subarray(0, kept))));
});
