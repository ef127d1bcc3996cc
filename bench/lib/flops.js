// Floating-point operations of one BERT encoder forward, from the architecture.
//
// Per sequence of s tokens, with hidden size h, intermediate (FFN) size i and L layers, counting a multiply-add as
// 2 FLOPs:
//   each layer:   s * (8 h^2 + 4 h i)     the Linear layers: Q, K, V and attention output (4 of h x h: 8 h^2 per
//                                         token) and the FFN (h x i and i x h: 4 h i per token)
//               + 4 s^2 h                 attention: Q K^T (s x s scores per head, head_dim each: 2 s^2 h over
//                                         all heads) and scores x V (2 s^2 h)
//   pooler:       2 h^2                   one h x h Linear on the first token (BertModel's pooler_output)
//   total:        batch * (L * (s (8 h^2 + 4 h i) + 4 s^2 h) + 2 h^2)
// Left out, as elementwise or memory-bound work worth < 1% here: embedding lookups, LayerNorm, softmax, GELU, bias
// adds, the attention mask. BERT-base (h 768, i 3072, L 12) at s 128: 22.35 GFLOP per sequence.
'use strict';

function bertForwardFlops({ hidden, intermediate, layers }, batch, seq) {
  const perLayer = seq * (8 * hidden * hidden + 4 * hidden * intermediate) + 4 * seq * seq * hidden;
  return batch * (layers * perLayer + 2 * hidden * hidden);
}

const FORMULA =
  'FLOPs = batch * (L * (s * (8h^2 + 4hi) + 4 s^2 h) + 2h^2): Q/K/V/output projections 8h^2 and FFN 4hi per token, ' +
  'attention scores and weighted sum 4 s^2 h per layer, pooler 2h^2 (a multiply-add = 2 FLOPs; embeddings, ' +
  'LayerNorm, softmax, GELU and biases left out, < 1%)';

module.exports = { bertForwardFlops, FORMULA };
