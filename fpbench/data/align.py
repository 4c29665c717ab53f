"""Face alignment to the canonical crop: a similarity transform onto the ArcFace 5-point template.

The transform is the least-squares (Umeyama) similarity from the five landmarks to the template, as in
insightface's ``norm_crop``; the warp is bilinear with black outside the photo.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

from ..images import arcface_template


def similarity_to_template(landmarks5: np.ndarray, size: int) -> np.ndarray:
    """2x3 matrix mapping image pixels to the ``size`` crop so the landmarks land on the template."""
    src = np.asarray(landmarks5, dtype=np.float64).reshape(5, 2)
    dst = arcface_template(size).astype(np.float64)
    if hasattr(SimilarityTransform, "from_estimate"):  # scikit-image >= 0.26
        return SimilarityTransform.from_estimate(src, dst).params[:2]
    tform = SimilarityTransform()
    tform.estimate(src, dst)
    return tform.params[:2]


def align_face(image: np.ndarray, landmarks5: np.ndarray, size: int) -> np.ndarray:
    """HWC uint8 RGB photo -> aligned ``size`` x ``size`` crop (HWC uint8)."""
    matrix = similarity_to_template(landmarks5, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
