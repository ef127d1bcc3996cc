"""Models for the reliability tier, generated at test time with the project venv's Python.

    python make_models.py matmul SIZE_MIB OUT.pt   one SIZE_MIB float32 weight; forward(input_ids,
                                                   attention_mask) multiplies a [rows, n] input by it
    python make_models.py bert-base OUT.pt         transformers' BertModel(BertConfig()): BERT-base,
                                                   109.5 M parameters (~420 MiB fp32), random weights,
                                                   traced with eager attention so libtorch 1.13 loads it too

Random weights: these files measure memory, not answers.
"""

import math
import sys

import torch


class MatMul(torch.nn.Module):
    def __init__(self, n: int):
        super().__init__()
        # randn touches every page, so a leaked copy is resident, not just reserved.
        self.weight = torch.nn.Parameter(torch.randn(n, n) * 0.01)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = torch.ones(input_ids.shape[0], self.weight.shape[0]) * attention_mask.float().mean()
        return x @ self.weight


def matmul(size_mib: int, out: str) -> None:
    n = int(math.sqrt(size_mib * 2**20 / 4))
    torch.jit.save(torch.jit.script(MatMul(n).eval()), out)


def bert_base(out: str) -> None:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(attn_implementation="eager", return_dict=False)).eval()
    ids = torch.randint(1000, 2000, (1, 16))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        traced = torch.jit.trace(model, (ids, mask), strict=False)
    torch.jit.save(traced, out)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "matmul":
        matmul(int(sys.argv[2]), sys.argv[3])
    elif kind == "bert-base":
        bert_base(sys.argv[2])
    else:
        raise SystemExit(f"unknown model kind {kind!r}: matmul or bert-base")
