"""Labbook's models and input pipeline in PyTorch (Debian's python3-torch 1.13.1, python3-sentencepiece).

The same architectures as core/engine/models.cpp, with the same parameter names, so a state dict exported by
`lbk export RUN --format model` loads with load_state_dict(); and the same text -> ids rules (ASCII lowercasing,
sentencepiece, truncation, hashed n-grams). Used by load_export.py (the export client) and bench_reference.py
(the speed reference); never by Labbook itself.
"""
import json
import re

import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_MASK64 = (1 << 64) - 1
# A word, as core/engine/tokenizer.cpp normalise() for tokenizer.type "word": ASCII letters, digits, "_", and any
# non-ASCII character.
_WORD = re.compile("[0-9A-Za-z_\u0080-\U0010FFFF]+")


def paper_text(row, field, columns=None):
    """The model's input text for a JSON row, as core/data's paperText()."""
    columns = columns or {}
    title = row.get(columns.get("title", "title")) or ""
    abstract = row.get(columns.get("abstract", "abstract")) or ""
    if field == "title":
        return title
    if field == "abstract":
        return abstract
    if not abstract:
        return title
    if not title:
        return abstract
    return title + ". " + abstract


class Tokenizer:
    """sentencepiece with Labbook's rules: ASCII-only lowercasing first (when enabled), ids cut to max_tokens."""

    def __init__(self, model_file, lowercase=True, max_tokens=64, words=False):
        self.sp = spm.SentencePieceProcessor(model_file=model_file)
        self.lowercase = lowercase
        self.max_tokens = max_tokens
        self.words = words  # the word tokenizer: text reduced to its words, joined by single spaces

    def encode(self, text):
        if self.lowercase:
            text = text.translate(_ASCII_LOWER)
        if self.words:
            text = " ".join(_WORD.findall(text))
        return self.sp.encode(text)[: self.max_tokens]

    def vocab_size(self):
        return self.sp.get_piece_size()


def ngram_hash(tokens, kind="mix"):
    """As core/engine/models.cpp ngramHash(): "mix", or "multiplicative" (runs recorded before 2026-11-24)."""
    h = 0
    if kind == "multiplicative":
        for t in tokens:
            h = (h * 1000003 + t + 1) & _MASK64
        return h
    for t in tokens:
        h = ((h ^ (t + 1)) * 0x9E3779B97F4A7C15) & _MASK64
    return _fmix64(h)


def _fmix64(h):
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB93FE53F2E5B) & _MASK64
    return h ^ (h >> 33)


def char_ngram_rows(piece, min_len, max_len, vocab, buckets):
    """As core/engine/models.cpp charNgramRows(): a piece's character n-gram rows."""
    if not piece or buckets <= 0:
        return []
    text = (" " + piece[1:] if piece.startswith("\u2581") else piece) + " "
    rows = []
    for n in range(min_len, max_len + 1):
        for i in range(len(text) - n + 1):
            h = 0xCBF29CE484222325
            for b in text[i:i + n].encode("utf-8"):
                h = ((h ^ b) * 0x100000001B3) & _MASK64
            rows.append(vocab + _fmix64(h) % buckets)
    return rows


def char_table(sp, arch):
    """Per token id its character n-gram rows (arch["char_ngrams"] = [min, max]), or None."""
    if arch.get("type") not in ("bag", "bag_cnn") or not arch.get("char_ngrams") or not arch.get("ngram_buckets"):
        return None
    lo, hi = arch["char_ngrams"]
    table = []
    for i in range(sp.get_piece_size()):
        plain = not (sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i))
        table.append(char_ngram_rows(sp.id_to_piece(i), lo, hi, arch["vocab_rows"], arch["ngram_buckets"]) if plain else [])
    return table


def bag_ids(tokens, vocab, ngrams, buckets, kind="mix", chars=None):
    """Unigram ids, hashed n-gram ids for orders 2..ngrams (bucket rows start at vocab), then each token's
    character n-gram rows (chars: char_table)."""
    ids = list(tokens) if tokens else [1]
    if buckets > 0:
        for n in range(2, ngrams + 1):
            for k in range(len(tokens) - n + 1):
                ids.append(vocab + ngram_hash(tokens[k:k + n], kind) % buckets)
    if chars is not None:
        for t in tokens:
            if t < len(chars):
                ids.extend(chars[t])
    return ids


def make_inputs(token_lists, arch):
    """A batch's inputs, as core/engine/models.cpp makeInputs(): (ids, offsets[, counts]) for the bag,
    (tokens, lengths) for sequence models, and for bag_cnn the two tuples."""
    if arch["type"] == "bag":
        return bag_inputs(token_lists, arch)
    if arch["type"] == "bag_cnn":
        return bag_inputs(token_lists, arch), sequence_inputs(token_lists, arch)
    return sequence_inputs(token_lists, arch)


def bag_inputs(token_lists, arch):
    """(ids, offsets[, counts]) as makeInputs() builds them for a bag."""
    ids, offsets, counts = [], [], []
    buckets = arch.get("ngram_buckets", 0)
    ngrams = arch.get("ngrams", 1) if buckets > 0 else 1
    tfidf = arch.get("bag_mode", "mean") == "tfidf"
    kind = arch.get("ngram_hash", "multiplicative")  # cards written before the field existed
    for t in token_lists:
        offsets.append(len(ids))
        text = bag_ids(t, arch["vocab_rows"], ngrams, buckets, kind, arch.get("char_table"))
        if tfidf:  # each id once, sorted, with its count in the text
            for i in sorted(set(text)):
                ids.append(i)
                counts.append(float(text.count(i)))
        else:
            ids.extend(text)
    out = (torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))
    return out + (torch.tensor(counts, dtype=torch.float),) if tfidf else out


def sequence_inputs(token_lists, arch):
    cls = arch.get("cls_id", -1)
    sep = arch.get("sep_id", -1)
    lead = 1 if cls is not None and cls >= 0 else 0
    trail = 1 if sep is not None and sep >= 0 else 0
    lengths = [max(1, len(t) + lead + trail) for t in token_lists]
    out = torch.zeros(len(token_lists), max(lengths), dtype=torch.long)
    for i, t in enumerate(token_lists):
        row = ([cls] if lead else []) + list(t) + ([sep] if trail else [])
        if not row:
            row = [1]
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out, torch.tensor(lengths, dtype=torch.long)


class BagModel(nn.Module):
    def __init__(self, arch, sparse=False):
        super().__init__()
        self.tfidf = arch.get("bag_mode", "mean") == "tfidf"
        self.embedding = nn.EmbeddingBag(arch["embedding_rows"], arch["embedding_dim"],
                                         mode="sum" if self.tfidf else "mean", sparse=sparse)
        nn.init.uniform_(self.embedding.weight, -1.0 / arch["embedding_dim"], 1.0 / arch["embedding_dim"])
        if self.tfidf:
            self.register_buffer("idf", torch.ones(arch["embedding_rows"]))
        self.dropout = nn.Dropout(arch["dropout"])
        self.out = nn.Linear(arch["embedding_dim"], arch["outputs"])

    def forward(self, ids, offsets, counts=None):
        if not self.tfidf:
            return self.out(self.dropout(self.embedding(ids, offsets)))
        # (1 + log tf) x idf, L2-normalised per text: the text's TF-IDF vector times the table.
        w = (counts.log() + 1) * self.idf[ids]
        ends = torch.cat([offsets[1:], torch.tensor([ids.numel()])])
        text = torch.repeat_interleave(torch.arange(offsets.numel()), ends - offsets)
        norm = torch.zeros(offsets.numel()).index_add_(0, text, w * w).sqrt().clamp_min(1e-12)
        return self.out(self.dropout(self.embedding(ids, offsets, per_sample_weights=w / norm[text])))


class CnnModel(nn.Module):
    def __init__(self, arch):
        super().__init__()
        dim = arch["embedding_dim"]
        self.kernels = arch["kernel_sizes"]
        self.embedding = nn.Embedding(arch["vocab_rows"], dim, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv1d(dim, arch["channels"], k) for k in self.kernels])
        self.dropout = nn.Dropout(arch["dropout"])
        self.out = nn.Linear(arch["channels"] * len(self.kernels), arch["outputs"])

    def forward(self, tokens, lengths):
        x = self.embedding(tokens).transpose(1, 2)
        widest = max(self.kernels)
        if x.size(2) < widest:
            x = F.pad(x, (0, widest - x.size(2)))
        pooled = []
        for k, conv in zip(self.kernels, self.convs):  # max over the windows inside the text (makeInputs pads)
            h = torch.relu(conv(x))
            outside = torch.arange(h.size(2)).unsqueeze(0) >= (lengths - (k - 1)).clamp_min(1).unsqueeze(1)
            pooled.append(h.masked_fill(outside.unsqueeze(1), 0).amax(2))
        return self.out(self.dropout(torch.cat(pooled, 1)))


class BagCnnModel(nn.Module):
    """model.type bag_cnn: bag_weight x the bag's logits + (1 - bag_weight) x the CNN's."""

    def __init__(self, arch, sparse=False):
        super().__init__()
        self.bag = BagModel(arch, sparse=sparse)
        self.cnn = CnnModel(dict(arch, embedding_dim=arch["cnn_embedding_dim"]))
        self.weight = arch["bag_weight"]

    def forward(self, bag, sequence):
        return self.bag(*bag) * self.weight + self.cnn(*sequence) * (1 - self.weight)


class GruModel(nn.Module):
    def __init__(self, arch):
        super().__init__()
        dim, hidden = arch["embedding_dim"], arch["hidden"]
        self.pooling = arch.get("pooling", "mean")
        self.embedding = nn.Embedding(arch["vocab_rows"], dim, padding_idx=0)
        self.gru = nn.GRU(dim, hidden, num_layers=arch["layers"], bidirectional=True, batch_first=True,
                          dropout=arch["dropout"] if arch["layers"] > 1 else 0.0)
        self.dropout = nn.Dropout(arch["dropout"])
        self.out = nn.Linear(2 * hidden * (2 if self.pooling == "meanmax" else 1), arch["outputs"])

    def forward(self, tokens, lengths):
        emb = self.dropout(self.embedding(tokens))
        packed = nn.utils.rnn.pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, padding_value=0.0,
                                                     total_length=tokens.size(1))
        mask = (torch.arange(states.size(1)).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)
        mean = (states * mask).sum(1) / mask.sum(1).clamp_min(1)
        mx = states.masked_fill(~mask, -1e4).amax(1)
        pooled = mx if self.pooling == "max" else torch.cat([mean, mx], 1) if self.pooling == "meanmax" else mean
        return self.out(self.dropout(pooled))


class EncoderBlock(nn.Module):
    """Pre-norm: x + Attn(LN(x)), then x + FF(LN(x))."""

    def __init__(self, dim, heads, ff, dropout):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout)
        self.ff1 = nn.Linear(dim, ff)
        self.ff2 = nn.Linear(ff, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, pad_mask):
        h = self.norm1(x).transpose(0, 1)
        attn = self.attn(h, h, h, key_padding_mask=pad_mask)[0].transpose(0, 1)
        y = x + self.dropout(attn)
        return y + self.dropout(self.ff2(F.gelu(self.ff1(self.norm2(y)))))


class TransformerModel(nn.Module):
    def __init__(self, arch):
        super().__init__()
        dim = arch["embedding_dim"]
        self.pooling = arch.get("pooling", "mean")
        self.embedding = nn.Embedding(arch["vocab_rows"], dim, padding_idx=0)
        self.positions = nn.Embedding(arch["max_tokens"] + 1, dim)
        nn.init.normal_(self.positions.weight, 0.0, 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(dim, arch["heads"], arch["hidden"], arch["dropout"])
                                     for _ in range(arch["layers"])])
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(arch["dropout"])
        self.out = nn.Linear(dim, arch["outputs"])

    def forward(self, tokens, lengths):
        pos = torch.arange(tokens.size(1))
        x = self.dropout(self.embedding(tokens) + self.positions(pos).unsqueeze(0))
        pad = tokens.eq(0)
        for block in self.blocks:
            x = block(x, pad)
        x = self.norm(x)
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            keep = (~pad).unsqueeze(2).to(x.dtype)
            pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1)
        return self.out(self.dropout(pooled))


class EncoderModel(nn.Module):
    """model.type "encoder" (from scratch, from a pre-training run or a Hugging Face folder): transformers' BERT or
    RoBERTa (reference/hf_encoder.py) with the card's sizes and the weights' own tables, pooled as
    core/engine/encoder.cpp's EncoderClassifier pools: "pooler" (BERT's pooler, RoBERTa's classification head),
    "cls" (the first position) or "mean" (over the text's positions)."""

    def __init__(self, arch, state=None):
        super().__init__()
        import hf_encoder
        family = arch.get("family", "bert")
        self.prefix = "roberta" if family == "roberta" else "bert"
        # A card names transformers' sizes; an experiment's model section (bench_reference.py) its own.
        h = arch.get("hidden_size", arch.get("embedding_dim"))
        table = f"{self.prefix}.embeddings.{{}}_embeddings.weight"
        rows = {"word": arch.get("vocab_rows"), "position": arch.get("max_tokens", 0) + 2, "token_type": 2}
        if state is not None:  # the tables as the weights hold them
            rows = {k: state[table.format(k)].shape[0] for k in rows}
        config = {"model_type": family, "hidden_size": h, "num_hidden_layers": arch["layers"],
                  "num_attention_heads": arch["heads"],
                  "intermediate_size": arch.get("intermediate_size", arch.get("hidden")),
                  "vocab_size": rows["word"], "max_position_embeddings": rows["position"],
                  "type_vocab_size": rows["token_type"], "hidden_act": arch.get("hidden_act", "gelu"),
                  "layer_norm_eps": arch.get("layer_norm_eps", 1e-12),
                  "pad_token_id": max(0, arch.get("position_offset", 0) - 1),  # RoBERTa's positions start after it
                  "hidden_dropout_prob": arch.get("dropout", 0.1),
                  "attention_probs_dropout_prob": arch.get("dropout", 0.1)}
        self.pooling = arch.get("pooling", "pooler")
        roberta_head = self.pooling == "pooler" and family == "roberta"
        setattr(self, self.prefix, hf_encoder.Encoder(config, pooler=self.pooling == "pooler" and not roberta_head))
        outputs = arch["outputs"]
        self.dropout = nn.Dropout(arch.get("dropout", 0.1))
        if roberta_head:
            self.classifier = nn.Module()
            self.classifier.dense = nn.Linear(h, h)
            self.classifier.out_proj = nn.Linear(h, outputs)
        else:
            self.classifier = nn.Linear(h, outputs)

    def forward(self, tokens, lengths):
        mask = (torch.arange(tokens.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).long()
        encoder = getattr(self, self.prefix)
        hidden = encoder(tokens, mask)
        if self.pooling == "mean":
            keep = mask.unsqueeze(2).to(hidden.dtype)
            return self.classifier(self.dropout((hidden * keep).sum(1) / lengths.unsqueeze(1).to(hidden.dtype)))
        first = hidden[:, 0]
        if not isinstance(self.classifier, nn.Linear):  # RoBERTa's head
            return self.classifier.out_proj(self.dropout(torch.tanh(self.classifier.dense(self.dropout(first)))))
        if hasattr(encoder, "pooler"):
            first = torch.tanh(encoder.pooler.dense(first))
        return self.classifier(self.dropout(first))


def make_model(arch, sparse=False, state=None):
    """The model of an architecture (a card's, or reference/bench_reference.py's); an encoder takes its tables' sizes
    from the weights (state)."""
    kind = arch["type"]
    if kind == "bag":
        return BagModel(arch, sparse=sparse)
    if kind == "cnn":
        return CnnModel(arch)
    if kind == "bag_cnn":
        return BagCnnModel(arch, sparse=sparse)
    if kind == "gru":
        return GruModel(arch)
    if kind == "transformer":
        return TransformerModel(arch)
    if kind == "encoder":
        return EncoderModel(arch, state)
    raise ValueError(f"unknown model type {kind!r}")


def load_export(folder):
    """(model in eval mode, tokenizer, card) from an `lbk export --format model` folder."""
    with open(f"{folder}/model.json") as f:
        card = json.load(f)
    if card.get("format_version", 1) > 3:
        raise ValueError(f"{folder}/model.json has format version {card['format_version']}; this client reads 1 to 3")
    if card.get("format") != "labbook-model":
        raise ValueError(f"{folder}/model.json is not a Labbook model card")
    arch = card["architecture"]
    state = torch.load(f"{folder}/weights.pt")
    model = make_model(arch, state=state)
    model.load_state_dict(state)
    model.eval()
    tok = card["input"]["tokenizer"]
    if "file" not in tok:  # a fine-tune of a Hugging Face encoder: WordPiece or BPE in hf/
        raise ValueError(f"{folder}: the model reads text with the {tok.get('type', 'Hugging Face')} tokenizer in "
                         f"{tok.get('folder', 'hf')}/, which this client does not implement (it reads sentencepiece "
                         "models); score it with lbk predict, or load that folder's tokenizer with transformers")
    tokenizer = Tokenizer(f"{folder}/{tok['file']}", tok["lowercase_ascii_first"], tok["max_tokens"],
                          tok.get("type") == "word")
    arch["char_table"] = char_table(tokenizer.sp, arch)  # make_inputs reads it from the architecture
    return model, tokenizer, card


def probabilities(model, card, token_lists):
    with torch.no_grad():
        logits = model(*make_inputs(token_lists, card["architecture"])).float()
    if card["task"] == "multiclass":
        return torch.softmax(logits, 1)
    p = torch.sigmoid(logits)
    if card["task"] == "binary":
        return torch.cat([1 - p, p], 1)  # as lbk predict: [p(labels[0]), p(labels[1])]
    return p
