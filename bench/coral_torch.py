"""The CORAL encoder in PyTorch, the paper's framework, for the reference benchmarks.

Same computation as `training/src/model.rs` (and so as the exported `models/coral.onnx`):
token + segment embeddings (no position embedding), post-LN transformer layers with a fused
q/k/v projection and a boolean graph attention mask (true = may attend), ReLU FFN; the last layer
computes only the [CLS] row (as coral's model does; `cls_only_last=False` computes every row, as a
stock `nn.TransformerEncoder` would). Heads: topic softmax (K), reconstruction `p_topic · R`,
stage softmax over 6 outputs. Weights are random: speed does not depend on them.

Imported by `torch_reference.py` and `torch_train_step.py`; needs only `torch`.
"""

import json
import math
import re

import torch
import torch.nn.functional as F
from torch import nn

STAGE_OUTPUTS = 6
SEGMENT_COUNT = 2

# The shipped model (models/MODEL_CARD.md) and the paper's (Appendix B).
SHIPPED = dict(d_model=128, layers=2, heads=4, ffn=256, topics=50, max_len=160, vocab=12000)
PAPER = dict(d_model=256, layers=4, heads=4, ffn=1024, topics=50, max_len=160, vocab=32000)


def onnx_config(path):
    """`coral.config` (JSON) from a coral.onnx's metadata props, without the onnx package.

    The props are protobuf `StringStringEntryProto`s: key (field 1) then value (field 2, tag 0x12,
    varint length). Returns None when the file or the prop is missing.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    key = b"coral.config"
    at = data.rfind(bytes([0x0A, len(key)]) + key + b"\x12")
    if at < 0:
        return None
    i = at + 2 + len(key) + 1
    length, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        length |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            break
    try:
        return json.loads(data[i:i + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn, eps=1e-5, dropout=0.1):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.attn_out = nn.Linear(d, d)
        self.norm_attn = nn.LayerNorm(d, eps=eps)
        self.ffn_in = nn.Linear(d, ffn)
        self.ffn_out = nn.Linear(ffn, d)
        self.norm_ffn = nn.LayerNorm(d, eps=eps)
        self.dropout = dropout

    def forward(self, x, mask, cls_only=False):
        """x: [b, l, d]; mask: bool [b, 1, l, l] (true = may attend)."""
        b, l, d = x.shape
        h = self.heads
        qkv = self.qkv(x).view(b, l, 3 * h, d // h).transpose(1, 2)  # [b, 3h, l, dk]
        q, k, v = qkv[:, :h], qkv[:, h:2 * h], qkv[:, 2 * h:]
        residual = x
        if cls_only:
            q, mask, residual = q[:, :, :1], mask[:, :, :1], x[:, :1]
        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        rows = q.shape[2]
        ctx = ctx.transpose(1, 2).reshape(b, rows, d)
        x = self.norm_attn(residual + F.dropout(self.attn_out(ctx), p, self.training))
        ff = self.ffn_out(F.relu(self.ffn_in(x)))
        return self.norm_ffn(x + F.dropout(ff, p, self.training))


class CoralEncoder(nn.Module):
    def __init__(self, vocab, d_model, layers, heads, ffn, topics=50, dropout=0.1,
                 cls_only_last=True):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d_model)
        self.segment_embedding = nn.Embedding(SEGMENT_COUNT, d_model)
        self.layers = nn.ModuleList(EncoderLayer(d_model, heads, ffn, dropout=dropout)
                                    for _ in range(layers))
        self.topic = nn.Linear(d_model, topics)
        self.topic_embeddings = nn.Parameter(torch.randn(topics, d_model) / math.sqrt(d_model))
        self.stage = nn.Linear(topics, STAGE_OUTPUTS)
        nn.init.normal_(self.stage.weight, 0.0, 1.0)
        self.dropout = dropout
        self.cls_only_last = cls_only_last

    def forward(self, tokens, segments, mask):
        """tokens, segments: int64 [b, l]; mask: bool [b, l, l]. Returns (z, p_topic, r,
        stage_logits, p_stage)."""
        x = self.token_embedding(tokens) + self.segment_embedding(segments)
        x = F.dropout(x, self.dropout, self.training)
        mask = mask.unsqueeze(1)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, cls_only=self.cls_only_last and i == last)
        z = x[:, 0]
        p_topic = torch.softmax(self.topic(z), dim=1)
        r = p_topic @ self.topic_embeddings
        stage_logits = self.stage(p_topic)
        return z, p_topic, r, stage_logits, torch.softmax(stage_logits, dim=1)


# --------------------------------------------------------------------------------------------
# Subtokens, as core/src/subtokens.rs: split on non-alphanumerics, then camelCase / digit runs,
# lower-cased; numbers of 3+ digits become <num>.

NUMBER_TOKEN = "<num>"
_WORD = re.compile(r"[^\W_]+")
_PIECE = re.compile(r"\d+|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[^\W\d_]+")


def split_into(text, cap, out):
    added = 0
    for word in _WORD.findall(text):
        for piece in _PIECE.findall(word):
            if added >= cap:
                return added
            if piece.isdigit():
                out.append(piece if len(piece) <= 2 else NUMBER_TOKEN)
            else:
                out.append(piece.lower())
            added += 1
    return added
