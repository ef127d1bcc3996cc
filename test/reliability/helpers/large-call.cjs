// Child process for test/reliability/large-input.test.ts: one feature-extraction call on COUNT
// texts, sampling the process's memory every 10 ms, and one JSON line of what it saw.
//   node --expose-gc large-call.cjs DIST_LIB MODEL_DIR COUNT
const [distLib, modelDir, count] = process.argv.slice(2);
const { pipeline } = require(distLib);

(async () => {
  const embed = await pipeline('feature-extraction', modelDir);
  const texts = Array.from({ length: Number(count) }, (_, i) => `text ${i} ${'word '.repeat(i % 13)}`);
  await embed(texts.slice(0, 100), { batchSize: 64 });
  global.gc();
  global.gc();
  const base = process.memoryUsage();
  const peak = { rss: 0, heapUsed: 0, external: 0 };
  const sample = () => {
    const now = process.memoryUsage();
    for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], now[key] - base[key]);
  };
  const timer = setInterval(sample, 10);
  const started = Date.now();
  const vectors = await embed(texts, { batchSize: 64 });
  clearInterval(timer);
  sample();
  console.log(
    JSON.stringify({
      count: vectors.length,
      seconds: (Date.now() - started) / 1000,
      resultBytes: vectors.reduce((sum, vector) => sum + vector.data.byteLength, 0),
      peak,
    }),
  );
  await embed.dispose();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
