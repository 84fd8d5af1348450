"""The round before: its model (folder and description) and its image ids."""

from pathlib import Path

from ._formats import read_object
from ._model import MODEL_INFO, load_model, read_model_info, weights_digest

__all__ = []


class PreviousRound:
    """The ``output_dir`` of an earlier round, or its ``model/`` folder, read.

    Either layout of ``model/`` is read (see ``_model``): the checkpoint
    codec's, and the older one of rounds written before it.

    Parameters
    ----------
    previous : str or os.PathLike
        The earlier round's ``output_dir`` (or its ``model/``).

    Attributes
    ----------
    folder : pathlib.Path
        As given.
    model : pathlib.Path
        The model folder.
    info : dict
        Its checked ``model.json``.
    image_ids : dict
        ``{file name: id}`` the round gave its pool (empty when unknown).
    """

    def __init__(self, previous):
        self.folder = Path(previous)
        nested = self.folder / "model"
        self.model = nested if (nested / MODEL_INFO).is_file() else self.folder
        info_file = self.model / MODEL_INFO
        if not info_file.is_file():
            raise FileNotFoundError(
                f"no model of a previous round in {str(self.folder)!r}: expected "
                f"{str(nested / MODEL_INFO)!r} (the output folder of an earlier "
                "select_for_annotation / sk-eglpp select)."
            )
        self.info = read_model_info(info_file)
        round_file = self.model.parent / "round.json"
        self.image_ids = {}
        if self.model == nested and round_file.is_file():
            ids = read_object(round_file, "an sk_eglpp round").get("image_ids", {})
            if isinstance(ids, dict):
                self.image_ids = {
                    name: int(i) for name, i in ids.items()
                    if isinstance(i, int) and not isinstance(i, bool)
                    and 0 <= i < 2**53
                }

    def inputs(self):
        """``(what, path)`` of the folders an output may not touch."""
        return [("previous round", self.folder), ("previous model", self.model)]

    def weights_digest(self):
        """SHA-256 of the model's weights: what the next round goes on from."""
        return weights_digest(self.model, self.info)

    def load(self, net, shape):
        """``net`` initialised with this round's model (see :func:`load_model`)."""
        return load_model(net, self.model, self.info, shape)
