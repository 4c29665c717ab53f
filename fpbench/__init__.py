"""fpbench: does a facial-privacy protection stop face recognition, at what cost, and can it be undone?"""
__version__ = "0.1.0"
