"""Pillow (_imaging): resize, blur and convert a 256x256 image made per unit."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["PIL._imaging"], "unit": "resize+blur+convert of 256x256 RGB"}

from PIL import Image, ImageFilter


def work(shared, local, i):
    image = Image.frombytes("RGB", (256, 256), bytes((i + k) % 256 for k in range(256 * 256 * 3)))
    out = image.resize((384, 384)).filter(ImageFilter.GaussianBlur(2)).convert("L")
    return out.size, sum(out.histogram()[::16])
