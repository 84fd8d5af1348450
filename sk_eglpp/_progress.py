"""Progress bars: one rule for when and how the package shows them.

``verbose`` is false -> nothing is drawn; otherwise a tqdm bar (``tqdm.auto``,
imported only then) on stderr.
"""

__all__ = ["progress", "progress_bar"]


def progress_bar(verbose, *, total, desc, unit="it", leave=True, initial=0):
    """A tqdm bar to update by hand, or ``None`` when ``verbose`` is false.

    Examples
    --------
    >>> progress_bar(0, total=3, desc="reading") is None
    True
    """
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=leave, initial=initial)


def progress(iterable, verbose, *, desc, total=None, unit="it", leave=True):
    """``iterable`` wrapped in a tqdm bar, or unchanged when ``verbose`` is false.

    Examples
    --------
    >>> progress([1, 2], False, desc="reading")
    [1, 2]
    """
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave)
