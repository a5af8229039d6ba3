"""Procedural renderers for the 3D stand-in datasets (faces, chairs, Shapes3D scenes).

Everything is analytic ray casting, vectorised over whole batches of images with torch:

* :mod:`~benchmark.data.render.raycast` — pixel grids, cameras, and ray-quadric / ray-box
  intersection written so that every per-pixel quantity is a *separable* polynomial in the pixel
  coordinates (u along columns, v along rows). A quadric's discriminant is then one row term plus
  one column term plus one ``uv`` term, three full-image operations per primitive instead of ~30.
* :mod:`~benchmark.data.render.faces`, :mod:`~benchmark.data.render.chairs`,
  :mod:`~benchmark.data.render.scenes` — the three scene models.

Determinism: per-image parameters (camera, light, shape) are computed in float64 with Python's
``math`` and numpy, then every per-pixel operation is an element-wise IEEE operation in float32
(``+ - * /``, ``sqrt``, ``min``/``max``/``where``): no reductions over pixels, no matrix products
on pixel data, no transcendental functions per pixel. Those give the same bits on every x86/ARM
CPU and on any thread count, so the rendered bytes are the same on every run and machine.
"""
