# Copyright (c) mmfer4d contributors. All rights reserved.
"""A hand-made frontal face on the Multi-PIE / iBUG 68-landmark layout."""
import torch


def face(scale=1.0, shift=(0.0, 0.0)):
    """68 landmarks of a frontal face laid out by hand on the iBUG scheme:
    eyes at y=40, brows y=30, nose 40..60, mouth y=75, jaw to y=100."""
    pts = torch.zeros(68, 2)
    for i in range(17):  # jaw: x 10..90, down to the chin at 8
        x = 10 + 5 * i
        pts[i] = torch.tensor([x, 50 + 50 * (1 - abs(i - 8) / 8)])
    for i in range(5):
        pts[17 + i] = torch.tensor([22 + 4 * i, 30.])  # right brow
        pts[22 + i] = torch.tensor([62 + 4 * i, 30.])  # left brow
    for i in range(4):
        pts[27 + i] = torch.tensor([50., 40 + 5 * i])  # nose bridge
    for i in range(5):
        pts[31 + i] = torch.tensor([42 + 4 * i, 60.])  # nostrils
    for i in range(6):
        pts[36 + i] = torch.tensor([28 + 3 * (i % 4), 40 + (i // 4)])
        pts[42 + i] = torch.tensor([64 + 3 * (i % 4), 40 + (i // 4)])
    for i in range(12):
        pts[48 + i] = torch.tensor([38 + 2 * i, 75 + (i % 2)])
    for i in range(8):
        pts[60 + i] = torch.tensor([42 + 2 * i, 75.])
    pts[48] = torch.tensor([36., 75.])
    pts[54] = torch.tensor([64., 75.])
    pts[57] = torch.tensor([50., 82.])
    return pts * scale + torch.tensor(shift)
