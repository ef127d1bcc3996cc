// MKL asks this function whether the processor is Intel's before it takes its AVX-512 code paths;
// the torch wheel's libtorch_cpu.so exports it, so a definition loaded RTLD_GLOBAL before libtorch
// interposes. On AMD processors with AVX-512 the answer "yes" doubled sgemm (214 -> 510 GFLOP/s)
// and halved a BERT-base forward (README, "MKL on AMD"). Hugging Face's text-embeddings-inference
// ships the same override. lib/native.ts loads this library only where it applies.
extern "C" __attribute__((visibility("default"))) int mkl_serv_intel_cpu_true() { return 1; }
