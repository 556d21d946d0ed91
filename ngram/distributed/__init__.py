"""N-gram counting and estimation on a Dask cluster (`--scheduler`), sort-based as lmplz's stages:

    1. encode   each byte range -> its id stream (local ids) and its words in first-appearance order + counts;
                the client merges the words in range order, so the ids are the single-machine run's
    2. windows  each range's KenLM windows in global ids, counted, written as one sorted run
    3. shuffle  the key space cut by splitters from the runs' samples; each reducer merges its key range of
                every run into one sorted, summed share
    4. estimate the client streams the shares, in key order, into the single-machine estimator: for the
                Kneser-Ney family to ARPA, each order's shares straight into the bounded estimator (`--memory`,
                the client's budget); otherwise the windows' shares read whole into the in-memory tables

Every task is a pure function of its inputs and writes its files under names fixed by them (temp file +
rename), so Dask may rerun any task after a lost worker. No task holds more than a range or a share.
"""
from ngram.distributed.driver import (
    client_budget,
    count_ngrams_distributed,
    train_arpa_distributed,
    train_files_distributed,
)

__all__ = ["client_budget", "count_ngrams_distributed", "train_arpa_distributed", "train_files_distributed"]
