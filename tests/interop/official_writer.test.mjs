// Files written by the official TypeScript writer (@mcap/core McapWriter) go through
// `mcaprec verify` and `mcaprec convert --compression X`; the converted files open in the
// official readers with every CRC checked and hold exactly what the TypeScript writer wrote.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import zstd from "@foxglove/wasm-zstd";
import { McapWriter, TempBuffer } from "@mcap/core";
import lz4 from "lz4js";

import { makeTempDir, removeDir, run, toolPath } from "./lib/env.mjs";
import {
  addPlannedMessage,
  byTimeTopicSequence,
  checkEveryCrc,
  mapToObject,
  readBoth,
  readStream,
} from "./lib/official.mjs";
import { makePayload } from "./lib/payload.mjs";

const kText = "official writer sample, converted by mcaprec: lorem ipsum dolor sit amet 42\n";
const kBase = 1_763_800_000_000_000_000n;

// What the TypeScript writer puts in every file (ids are assigned by the writer).
const kSchema = {
  name: "foxglove.Point3",
  encoding: "jsonschema",
  data: new TextEncoder().encode('{"type":"object","properties":{"x":{"type":"number"}}}'),
};
const kChannels = [
  { topic: "/points", messageEncoding: "json", schema: true, metadata: new Map() },
  { topic: "/bytes", messageEncoding: "", schema: false, metadata: new Map([["unit", "raw"]]) },
  { topic: "/empty", messageEncoding: "", schema: false, metadata: new Map() },
];
const kAttachments = [
  { name: "notes.txt", mediaType: "text/plain", logTime: kBase + 3n, createTime: kBase,
    data: makePayload(5000, 1, "text", kText) },
  { name: "noise.bin", mediaType: "application/octet-stream", logTime: kBase + 4n, createTime: 0n,
    data: makePayload(20000, 99, "random", kText) },
];
const kMetadata = [
  { name: "vehicle", metadata: new Map([["id", "ts-writer"], ["run", "7"]]) },
  { name: "nothing", metadata: new Map() },
];

// 1,500 messages over three topics: log times out of order (a permutation of slots, with
// ties), sizes from 0 up to ~3 KB, mostly compressible text.
function messagePlan() {
  const plan = [];
  const sequences = [0, 0, 0];
  for (let i = 0; i < 1500; i++) {
    const channel = i % 3;
    const slot = BigInt((i * 601) % 1500);
    const size = channel === 2 ? 0 : (i * 53) % 3000;
    plan.push({
      channel,
      topic: kChannels[channel].topic,
      sequence: sequences[channel]++,
      logTime: kBase + slot * 1_000_000n - (channel === 1 ? 1_000_000n : 0n),
      publishTime: kBase + BigInt(i) * 1_000_000n,
      data: makePayload(size, i, i % 9 === 4 ? "random" : "text", kText),
    });
  }
  return plan;
}
const kPlan = messagePlan();

// @mcap/core 2.2.2 writes wrong Attachment/Metadata Index offsets when useChunks is false (it
// takes the writable's position before flushing the records it still buffers; the official
// indexed reader then rejects the file). So the unchunked variant has no attachments or
// metadata here; a separate test checks that `mcaprec verify` reports such a file.
const kVariants = {
  "js_chunked_none.mcap": { useChunks: true, chunkSize: 32 * 1024 },
  "js_unchunked.mcap": { useChunks: false, noAttachmentsOrMetadata: true },
  "js_chunked_zstd.mcap": {
    useChunks: true,
    chunkSize: 32 * 1024,
    compressChunk: (data) => ({ compression: "zstd", compressedData: zstd.compress(data, 3) }),
  },
  "js_chunked_lz4.mcap": {
    useChunks: true,
    chunkSize: 32 * 1024,
    compressChunk: (data) => ({ compression: "lz4", compressedData: lz4.compress(data) }),
  },
};

async function writeWithOfficialWriter(path, { noAttachmentsOrMetadata, ...options }) {
  const buffer = new TempBuffer();
  const writer = new McapWriter({ writable: buffer, ...options });
  const extras = !noAttachmentsOrMetadata;
  await writer.start({ profile: "", library: "interop-test" });
  const schemaId = await writer.registerSchema(kSchema);
  const channelIds = [];
  for (const c of kChannels) {
    channelIds.push(
      await writer.registerChannel({
        topic: c.topic,
        messageEncoding: c.messageEncoding,
        schemaId: c.schema ? schemaId : 0,
        metadata: c.metadata,
      }),
    );
  }
  for (let i = 0; i < kPlan.length; i++) {
    const m = kPlan[i];
    await addPlannedMessage(writer, channelIds, m);
    if (extras && i === 500) await writer.addAttachment(kAttachments[0]);
    if (extras && i === 700) await writer.addMetadata(kMetadata[0]);
    if (extras && i === 1000) await writer.addAttachment(kAttachments[1]);
  }
  if (extras) await writer.addMetadata(kMetadata[1]);
  await writer.end();
  await writeFile(path, buffer.get());
}

function assertMessagesAsWritten(actual, reader) {
  const expected = [...kPlan].sort(byTimeTopicSequence);
  const got = [...actual].sort(byTimeTopicSequence);
  assert.equal(got.length, expected.length, `${reader}: message count`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = got[i];
    const where = `${reader}: ${e.topic} #${e.sequence}`;
    assert.equal(a.topic, e.topic, `${where}: topic`);
    assert.equal(a.sequence, e.sequence, `${where}: sequence`);
    assert.equal(a.logTime, e.logTime, `${where}: log_time`);
    assert.equal(a.publishTime, e.publishTime, `${where}: publish_time`);
    assert.ok(Buffer.from(a.data).equals(Buffer.from(e.data)), `${where}: payload differs`);
  }
}

function assertChannels(channels, schemasById, reader) {
  const byTopic = new Map([...channels.values()].map((c) => [c.topic, c]));
  assert.equal(byTopic.size, kChannels.length, `${reader}: channel count`);
  for (const c of kChannels) {
    const got = byTopic.get(c.topic);
    assert.ok(got, `${reader}: channel ${c.topic} missing`);
    assert.equal(got.messageEncoding, c.messageEncoding, `${c.topic}: message encoding`);
    assert.deepEqual(mapToObject(got.metadata), mapToObject(c.metadata), `${c.topic}: metadata`);
    if (!c.schema) {
      assert.equal(got.schemaId, 0, `${c.topic}: schema id`);
      continue;
    }
    const schema = schemasById.get(got.schemaId);
    assert.ok(schema, `${c.topic}: schema ${got.schemaId} missing`);
    assert.equal(schema.name, kSchema.name);
    assert.equal(schema.encoding, kSchema.encoding);
    assert.ok(Buffer.from(schema.data).equals(Buffer.from(kSchema.data)), "schema data");
  }
}

function assertAttachmentsAndMetadata(attachments, metadata, reader, expectNone) {
  const comparable = (a) => ({
    name: a.name,
    mediaType: a.mediaType,
    logTime: a.logTime,
    createTime: a.createTime,
    data: Buffer.from(a.data).toString("base64"),
  });
  const expectedAttachments = expectNone ? [] : kAttachments;
  const expectedMetadata = expectNone ? [] : kMetadata;
  assert.deepEqual(
    attachments.map(comparable),
    expectedAttachments.map(comparable),
    `${reader}: attachments`,
  );
  // mcaprec may add its own metadata records (named mcaprec*); the user's must all survive.
  const users = metadata.filter((m) => !m.name.startsWith("mcaprec"));
  assert.deepEqual(
    users.map((m) => ({ name: m.name, metadata: mapToObject(m.metadata) })),
    expectedMetadata.map((m) => ({ name: m.name, metadata: mapToObject(m.metadata) })),
    `${reader}: metadata`,
  );
}

let dir;
before(async () => {
  dir = await makeTempDir();
  for (const [name, options] of Object.entries(kVariants)) {
    await writeWithOfficialWriter(join(dir, name), options);
  }
});
after(() => removeDir(dir));

function mcaprec(args) {
  const result = run(toolPath(), args, 30000);
  const output =
    `mcaprec ${args.join(" ")} exited ${result.status}\n` + `${result.stdout}${result.stderr}`;
  return { ...result, output };
}

describe("files written by the official TypeScript writer", () => {
  for (const [name, variant] of Object.entries(kVariants)) {
    const noExtras = Boolean(variant.noAttachmentsOrMetadata);
    test(`${name}: the test's own file reads back in the official stream reader`, async () => {
      const streamed = await readStream(new Uint8Array(await readFile(join(dir, name))));
      assertMessagesAsWritten(streamed.messages, "McapStreamReader");
    });

    test(`${name}: mcaprec verify accepts it`, () => {
      const result = mcaprec(["verify", join(dir, name)]);
      assert.equal(result.status, 0, result.output);
    });

    for (const codec of ["zstd", "lz4", "none"]) {
      const title = `${name}: mcaprec convert --compression ${codec}, then the official readers`;
      test(title, async () => {
        const out = join(dir, `${name}.${codec}.mcap`);
        const converted = mcaprec(["convert", join(dir, name), out, "--compression", codec]);
        assert.equal(converted.status, 0, converted.output);
        const verified = mcaprec(["verify", out]);
        assert.equal(verified.status, 0, verified.output);

        const { bytes, indexed, streamed } = await readBoth(out);
        checkEveryCrc(bytes, indexed, streamed);
        assertMessagesAsWritten(indexed.messages, "McapIndexedReader");
        assertMessagesAsWritten(streamed.messages, "McapStreamReader");
        assertChannels(indexed.reader.channelsById, indexed.reader.schemasById,
                       "McapIndexedReader");
        assertAttachmentsAndMetadata(
          indexed.attachments, indexed.metadata, "McapIndexedReader", noExtras);
        assertAttachmentsAndMetadata(
          streamed.attachments, streamed.metadata, "McapStreamReader", noExtras);

        const stored = codec === "none" ? "" : codec;
        const chunks = indexed.reader.chunkIndexes;
        assert.ok(chunks.length > 0, "converted file has no chunks");
        for (const chunk of chunks) {
          const what = `chunk compression ${chunk.compression}`;
          assert.ok([stored, ""].includes(chunk.compression), what);
        }
        assert.ok(
          chunks.some((c) => c.compression === stored),
          `no chunk is stored with compression "${stored}"`,
        );
        assert.equal(indexed.reader.statistics?.messageCount, BigInt(kPlan.length));
      });
    }
  }
});

test("mcaprec verify reports Attachment Index offsets that miss their record", async () => {
  // The official writer, unchunked, with records still buffered when the attachment comes.
  const buffer = new TempBuffer();
  const writer = new McapWriter({ writable: buffer, useChunks: false });
  await writer.start({ profile: "", library: "interop-test" });
  const channelId = await writer.registerChannel({
    topic: "/a", messageEncoding: "", schemaId: 0, metadata: new Map(),
  });
  const data = kPlan[1].data;
  await writer.addMessage({ channelId, sequence: 0, logTime: 1n, publishTime: 1n, data });
  await writer.addAttachment(kAttachments[0]);
  await writer.end();
  const bytes = buffer.get();
  const path = join(dir, "js_unchunked_attachment.mcap");
  await writeFile(path, bytes);

  const [index] = (await readStream(bytes)).get("AttachmentIndex");
  const indexIsRight = bytes[Number(index.offset)] === 0x09;  // the Attachment opcode
  const result = mcaprec(["verify", path]);
  if (indexIsRight) {
    assert.equal(result.status, 0, result.output);
  } else {
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /Attachment Index/, result.output);
  }
});
