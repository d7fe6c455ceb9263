"""Images the user attaches to a prompt: read and checked, stored once, fitted to a model.

- ``intake``: bytes or a file in, an ``ImageBlock`` out, or an ``ImageError`` that names
  the file and the reason (unsupported format, damaged, too large, a decompression bomb,
  a file a ``Read`` deny rule covers);
- ``store``: each image's bytes kept once per session, named by their SHA-256, in the
  session's data folder (the session file holds references only);
- ``fit``: an image resized and re-encoded to one provider's documented limits;
- ``request``: which images of a conversation a request carries, fitted, and which
  become a short text placeholder (a model without vision, over a count or byte limit).

Pillow is imported only when an image is read or fitted.
"""
