"""A pure-Python drop-in for KenLM's `kenlm` module: `import ngram.kenlm as kenlm`.

Reads ARPA (.arpa, .arpa.gz) and every KenLM binary kind (probing, rest probing, trie, quantised and
pointer-compressed tries) by mapping the file, and scores exactly as KenLM does (float32 arithmetic)."""
from ngram.kenlm.model import LanguageModel, LoadError, Model
from ngram.kenlm.state import (
           ARPALoadComplain,
           Config,
           FullScoreReturn,
           LoadMethod,
           State,
)

__all__ = ["Model", "LanguageModel", "Config", "State", "FullScoreReturn", "LoadMethod", "ARPALoadComplain",
           "LoadError"]
