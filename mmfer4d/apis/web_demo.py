# Copyright (c) mmfer4d contributors. All rights reserved.
"""A browser demo: upload a face scan (or pick a synthetic one), see the
rendered views and the predicted expression.

Built on :class:`FERInferencer` and `Gradio <https://gradio.app>`_
(``pip install "mmfer4d[web]"``); ``tools/web_demo.py CONFIG CKPT`` serves
it. The page never trains: without a checkpoint the tool says how to get
one and stops.
"""
import os
import os.path as osp
import tempfile
from typing import List, Optional, Sequence, Tuple

from mmfer4d.datasets.io import MESH_EXTENSIONS
from .fer_inferencer import FERInferencer

__all__ = ['FERWebDemo', 'no_checkpoint_message']

#: Names of the page's elements (``elem_id``), for tests and styling.
ELEMENT_IDS = dict(upload='mesh-upload', synthetic='synthetic-choice',
                   button='classify-button', views='rendered-views',
                   scores='class-scores', result='result-text')


def no_checkpoint_message(config: str, checkpoint: Optional[str]) -> str:
    """What ``tools/web_demo.py`` prints when it has no checkpoint to load.

    Args:
        config (str): The config path.
        checkpoint (str, optional): The path given (missing), or None.
    """
    stem = osp.splitext(osp.basename(config))[0]
    given = 'no checkpoint was given' if checkpoint is None else \
        f'the checkpoint {checkpoint} does not exist'
    return (f'web_demo: {given}; the demo classifies with a trained model '
            'and trains nothing itself. Get one with\n'
            f'  python tools/train.py {config}\n'
            f'(it writes work_dirs/{stem}/epoch_N.pth), or `make demo` '
            '(the tiny SMILE-VLM on the synthetic data, about 10 minutes on '
            '2 CPU cores, work_dirs/demo/), then\n'
            f'  python tools/web_demo.py {config} '
            f'work_dirs/{stem}/epoch_N.pth')


class FERWebDemo:
    """The Gradio page of one model.

    Inputs: an uploaded mesh file (any format
    :func:`mmfer4d.datasets.io.load_mesh` reads; for a sequence model,
    several files are the frames of one sequence, in the order of the
    numbers in their names), or one of ``num_synthetic`` synthetic faces
    (SyntheticFER3D scans, SyntheticFER4D sequences for a sequence model),
    written to a temporary folder as VRML. Outputs: the rendered views the
    model saw (:func:`~mmfer4d.apis.draw_views`), the scores of every class,
    and a line with the prediction, or the error that kept the input from
    being classified; AU detections when the model predicts them
    (``pred_au_score``).

    Args:
        config (str): The model's config.
        checkpoint (str): Trained weights.
        device (str): Defaults to 'cpu'.
        num_synthetic (int): Synthetic faces offered. Defaults to 6.
        work_dir (str, optional): Folder of the pictures and synthetic
            files. Defaults to a new temporary folder.

    Raises:
        FileNotFoundError: If ``checkpoint`` does not exist (see
            :func:`no_checkpoint_message`).
    """

    def __init__(self,
                 config: str,
                 checkpoint: str,
                 device: str = 'cpu',
                 num_synthetic: int = 6,
                 work_dir: Optional[str] = None) -> None:
        if checkpoint is None or not osp.isfile(checkpoint):
            raise FileNotFoundError(no_checkpoint_message(config,
                                                          checkpoint))
        self.config = config
        self.inferencer = FERInferencer(config, checkpoint, device)
        self.classes = self.inferencer.classes
        self.is_sequence = any(
            str(t.get('type', '')).endswith('SampleFrames')
            for t in self.inferencer._pipeline)
        self.work_dir = work_dir or tempfile.mkdtemp(prefix='mmfer4d_web_')
        self._count = 0
        self._synthetic = self._synthetic_infos(num_synthetic)

    # ------------------------------------------------------------------
    # Inputs
    # ------------------------------------------------------------------
    def _synthetic_infos(self, num: int) -> List[dict]:
        from mmfer4d.datasets import (EXPRESSIONS_6, SyntheticFER3D,
                                      SyntheticFER4D)
        classes = [c for c in (self.classes or EXPRESSIONS_6)
                   if c in EXPRESSIONS_6] or list(EXPRESSIONS_6)
        cls = SyntheticFER4D if self.is_sequence else SyntheticFER3D
        kwargs = dict(num_subjects=1, classes=classes, pipeline=[])
        if self.is_sequence:
            kwargs['num_frames'] = 16  # the pipeline samples from them
        else:
            kwargs['intensities'] = [4]
        dataset = cls(**kwargs)
        return [dict(dataset.get_data_info(i))
                for i in range(min(num, len(dataset)))]

    def synthetic_choices(self) -> List[str]:
        """Labels of the synthetic faces offered, in order."""
        kind = 'sequence' if self.is_sequence else 'scan'
        return [f'{i}: {info["expression"]} (synthetic {kind}, subject '
                f'{info["subject"]})' for i, info in
                enumerate(self._synthetic)]

    def synthetic_input(self, choice: str):
        """Write the synthetic face a choice names as VRML; its path (a
        list of frame paths for a sequence).

        Raises:
            ValueError: If ``choice`` is not one of
                :meth:`synthetic_choices`.
        """
        from mmfer4d.datasets.io import write_vrml
        choices = self.synthetic_choices()
        if choice not in choices:
            raise ValueError(f'unknown synthetic face {choice!r}; one of '
                             f'{choices}')
        index = choices.index(choice)
        info = self._synthetic[index]
        folder = osp.join(self.work_dir, 'synthetic', str(index))
        os.makedirs(folder, exist_ok=True)
        if self.is_sequence:
            from mmfer4d.synthesis import synthesize_sequence
            paths = []
            for t, mesh in enumerate(synthesize_sequence(
                    info['synth_params'])):
                paths.append(osp.join(folder, f'{t:03d}.wrl'))
                if not osp.isfile(paths[-1]):
                    write_vrml(paths[-1], mesh)
            return paths
        from mmfer4d.synthesis import synthesize
        path = osp.join(folder, f'{info["subject"]}_{info["expression"]}.wrl')
        if not osp.isfile(path):
            write_vrml(path, synthesize(info['synth_params']))
        return path

    def _uploaded_input(self, files: Sequence):
        paths = [f if isinstance(f, str) else getattr(f, 'name', str(f))
                 for f in files]
        if self.is_sequence:
            from mmfer4d.datasets._file_index import frame_key
            return sorted(paths, key=lambda p: frame_key(osp.basename(p)))
        if len(paths) > 1:
            raise ValueError(f'this model classifies one scan at a time; '
                             f'{len(paths)} files were uploaded')
        return paths[0]

    # ------------------------------------------------------------------
    # Classification
    # ------------------------------------------------------------------
    def classify(self, files: Optional[Sequence] = None,
                 choice: Optional[str] = None
                 ) -> Tuple[Optional[str], dict, str]:
        """Classify an upload, else the chosen synthetic face.

        Args:
            files (Sequence, optional): Uploaded file paths (or objects
                with ``name``).
            choice (str, optional): One of :meth:`synthetic_choices`.

        Returns:
            tuple: ``(picture, scores, text)``: the PNG of the rendered
            views (None on error), ``{class: score}`` for every class
            (empty on error), and a Markdown line with the prediction (and
            AU detections) or the error.
        """
        try:
            if files:
                item = self._uploaded_input(
                    files if isinstance(files, (list, tuple)) else [files])
            elif choice:
                item = self.synthetic_input(choice)
            else:
                return None, {}, ('**Upload a scan or pick a synthetic '
                                  'face first.**')
        except Exception as err:  # noqa: BLE001 - shown on the page
            return None, {}, f'**Error:** {type(err).__name__}: {err}'
        self._count += 1
        # The inferencer's steps, to keep the model's DataSample (AUs).
        inf, inputs = self.inferencer, [item]
        preds = [p for chunk in inf.preprocess(inputs)
                 for p in inf.forward(chunk)]
        vis = inf.visualize(inputs, preds, show_dir=osp.join(
            self.work_dir, 'views', str(self._count)))
        row = inf.postprocess(preds, vis)[0]
        if row['error']:
            return None, {}, f'**Error:** {row["error"]}'
        names = self.classes or [str(k) for k in
                                 range(len(row['pred_scores']))]
        scores = {names[k]: float(s) for k, s in
                  enumerate(row['pred_scores'])}
        name = osp.basename(row['input'] if isinstance(row['input'], str)
                            else row['input'][0])
        text = (f'**Prediction: {row["pred_class"]}** '
                f'({100 * row["pred_score"]:.1f}%) for `{name}`')
        if self.is_sequence:
            text += f' ({len(row["input"])} frames)'
        aus = _au_text(preds[0]['sample'])
        if aus:
            text += f'\n\nAU detections: {aus}'
        return row.get('show_file'), scores, text

    # ------------------------------------------------------------------
    # The page
    # ------------------------------------------------------------------
    def build(self):
        """The Gradio ``Blocks`` of the page.

        Raises:
            ImportError: If Gradio is not installed (``pip install
                "mmfer4d[web]"``).
        """
        try:
            import gradio as gr
        except ImportError as err:
            raise ImportError('the web demo needs Gradio: pip install '
                              '"mmfer4d[web]" (or pip install gradio)'
                              ) from err
        kind = 'sequence (several frame files)' if self.is_sequence else \
            'scan'
        exts = sorted(set(MESH_EXTENSIONS) | {'.gz'})
        with gr.Blocks(title='mmfer4d: facial expression from 3D scans',
                       analytics_enabled=False) as demo:
            gr.Markdown(
                '# mmfer4d: facial expression from 3D scans\n'
                f'Model: `{osp.basename(self.config)}`. Upload a face '
                f'{kind} ({", ".join(exts)}) or pick a synthetic face, '
                'then press **Classify**.')
            with gr.Row():
                with gr.Column():
                    upload = gr.File(
                        label='Face scan',
                        file_count='multiple' if self.is_sequence else
                        'single',
                        file_types=exts,
                        elem_id=ELEMENT_IDS['upload'])
                    choices = self.synthetic_choices()
                    synthetic = gr.Dropdown(
                        choices=choices,
                        value=choices[0] if choices else None,
                        label='...or a synthetic face (used when nothing '
                        'is uploaded)',
                        elem_id=ELEMENT_IDS['synthetic'])
                    button = gr.Button('Classify', variant='primary',
                                       elem_id=ELEMENT_IDS['button'])
                with gr.Column():
                    result = gr.Markdown(elem_id=ELEMENT_IDS['result'])
                    scores = gr.Label(label='Scores',
                                      num_top_classes=len(self.classes or
                                                          []) or None,
                                      elem_id=ELEMENT_IDS['scores'])
            views = gr.Image(label='Rendered views (what the model sees)',
                             type='filepath', elem_id=ELEMENT_IDS['views'])
            button.click(self.classify, inputs=[upload, synthetic],
                         outputs=[views, scores, result])
        return demo

    def launch(self, host: str = '127.0.0.1', port: int = 7860,
               **kwargs):
        """Serve the page (blocks unless ``prevent_thread_lock=True``).

        Returns:
            gradio.Blocks: The running page (``close()`` stops it).
        """
        import gradio as gr
        demo = self.build()
        # System fonts: the page loads nothing from the internet.
        theme = gr.themes.Default(font=['sans-serif'],
                                  font_mono=['monospace'])
        demo.launch(server_name=host, server_port=port, theme=theme,
                    allowed_paths=[self.work_dir], footer_links=[],
                    **kwargs)
        return demo


def _au_text(sample) -> str:
    """``'AU1 0.91, AU12 0.84'`` for the AUs a model detects (score >=
    0.5), or '' when it predicts none."""
    if sample is None or sample.get('pred_au_score') is None:
        return ''
    import numpy as np
    scores = np.asarray(sample.get('pred_au_score').detach().cpu()).reshape(
        -1)
    names = sample.get('au_names') or [f'AU{i + 1}'
                                       for i in range(len(scores))]
    on = [f'{n} {s:.2f}' for n, s in zip(names, scores) if s >= 0.5]
    return ', '.join(on) if on else 'none above 0.5'
