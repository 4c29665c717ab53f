"""Mock of Azure AI Face detect + verify: ``Ocp-Apim-Subscription-Key`` checked, faceIds kept in memory,
``confidence`` 0-1 with ``isIdentical`` at 0.5, errors as ``{"error": {"code", "message"}}``."""
from __future__ import annotations

import threading
import uuid

from PIL import Image

from .base import Contract, Request, Response


class AzureContract(Contract):
    vendor = "azure"
    credential_vars = ("AZURE_FACE_KEY",)
    thresholds = [0.5]
    top = 1.0

    def __init__(self, credentials: dict[str, str]) -> None:
        super().__init__(credentials)
        self.faces: dict[str, object] = {}
        self.lock = threading.Lock()

    def _error(self, status: int, code: str, message: str) -> Response:
        return Response.json(status, {"error": {"code": code, "message": message}}, **{
            "x-ms-error-code": code, "apim-request-id": str(uuid.uuid4())})

    def route(self, req, server):
        if req.headers.get("ocp-apim-subscription-key") != self.credentials["AZURE_FACE_KEY"]:
            return self._error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")
        fault = server.faults.draw()
        if fault and not (fault == "noface" and req.path.endswith("/verify")):
            server.stats[f"fault:{fault}"] += 1
            return server.fault_response(self, req, fault)
        if req.path == "/face/v1.0/detect":
            return self.detect(req, server)
        if req.path == "/face/v1.0/verify":
            server.stats["scored"] += 1
            return self.verify(req, server)
        return self._error(404, "NotFound", "Resource not found")

    def detect(self, req: Request, server) -> Response:
        try:
            embedding = server.scorer.embed(req.body)[0]
        except (OSError, ValueError, Image.DecompressionBombError):
            return self.bad_image()
        face_id = str(uuid.uuid4())
        with self.lock:
            self.faces[face_id] = embedding
        return Response.json(200, [{"faceId": face_id, "faceRectangle": {"top": 0, "left": 0, "width": 1, "height": 1}}],
                             **{"apim-request-id": str(uuid.uuid4())})

    def verify(self, req: Request, server) -> Response:
        import json

        try:
            body = json.loads(req.body)
            a, b = self.faces[body["faceId1"]], self.faces[body["faceId2"]]
        except (ValueError, TypeError):
            return self._error(400, "BadArgument", "Request body is invalid.")
        except KeyError:
            return self._error(404, "FaceNotFound", "Face is not found.")
        score = server.scorer.scaled(float((a * b).sum()), self.thresholds, self.top)
        return Response.json(200, {"isIdentical": score >= 0.5, "confidence": round(score, 5)},
                             **{"apim-request-id": str(uuid.uuid4())})

    def no_face(self, req: Request) -> Response:
        return Response.json(200, [])

    def throttled(self, req: Request) -> Response:
        return self._error(429, "429", "Rate limit is exceeded. Try again later.")

    def server_error(self, req: Request) -> Response:
        return self._error(500, "InternalServerError", "internal error")

    def bad_image(self) -> Response:
        return self._error(400, "InvalidImage", "Decoding error, image format unsupported.")
