"""Deployment without PyTorch models: ONNX export and ONNX Runtime / OpenVINO inference.

Modules (import them directly; nothing is imported here):

- :mod:`~mmseg_ext.deploy.spec`: the JSON beside an exported model (input size,
  normalisation, classes, thresholds ...), written at export, read at inference.
- :mod:`~mmseg_ext.deploy.export`: a config + checkpoint -> ONNX graph + JSON
  (needs mmseg/mmcv, like training).
- :mod:`~mmseg_ext.deploy.preprocess`: image -> network input, as the test pipeline
  does. Logits go back to probabilities through the PyTorch path's own
  ``undo_test_transforms`` and ``add_upsampled`` (:mod:`mmseg_ext.utils.postprocessing`).
- :mod:`~mmseg_ext.deploy.runtime`: ONNX Runtime and OpenVINO sessions.
- :mod:`~mmseg_ext.deploy.onnx_member`: an exported model as an ensemble member.

Inference (everything but ``export``) needs numpy, torch, cv2 and onnxruntime
or openvino; not mmcv, mmengine or mmseg, and no config file.
"""
