"""FI-UAP and FI-UAP+ (Zhong & Deng, OPOM, TPAMI 2022): person-specific masks that push the features of a
person's inference photos away from their own clean features (FI-UAP, the code's ``inverse_mse``) or from
every clean photo of the person (FI-UAP+, ``eachother_dot``). Spec A4.3."""
from __future__ import annotations

from .. import METHODS
from .base import PersonSpecific


@METHODS.register("fi-uap", "FI-UAP: person-specific mask maximising the feature MSE to the clean photos "
                            "(Linf 8/255, 16 steps; OPOM code loss 0)")
class FIUAP(PersonSpecific):
    name = "fi-uap"
    loss = "fi-uap"


@METHODS.register("fi-uap-plus", "FI-UAP+: person-specific mask minimising the mean cosine to every clean photo "
                                 "of the person (Linf 8/255, 16 steps; OPOM code loss 2)")
class FIUAPPlus(PersonSpecific):
    name = "fi-uap-plus"
    loss = "fi-uap-plus"
