# Copyright (c) mmfer4d contributors. All rights reserved.
"""A browser demo of a trained model (Gradio).

Example::

    pip install "mmfer4d[web]"      # or: pip install gradio
    python tools/web_demo.py CONFIG CKPT [--port 7860] [--host 0.0.0.0]

Open the printed address, upload a face scan (any supported mesh format; a
sequence model takes the frame files of one sequence) or pick a synthetic
face, and press Classify: the page shows the rendered views the model saw,
the score of every class and the prediction. It trains nothing: without a
checkpoint it prints how to get one and exits with status 2.
"""
import argparse
import os.path as osp
import sys

from mmfer4d.apis.web_demo import FERWebDemo, no_checkpoint_message


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the model\'s config')
    parser.add_argument('checkpoint', nargs='?', help='trained weights')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to serve on (0.0.0.0: every '
                        'interface)')
    parser.add_argument('--port', type=int, default=7860)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.checkpoint is None or not osp.isfile(args.checkpoint):
        print(no_checkpoint_message(args.config, args.checkpoint),
              file=sys.stderr)
        return 2
    demo = FERWebDemo(args.config, args.checkpoint, args.device)
    print(f'web_demo: serving {osp.basename(args.config)} on '
          f'http://{args.host}:{args.port} (Ctrl+C stops)', flush=True)
    demo.launch(host=args.host, port=args.port)
    return 0


if __name__ == '__main__':
    sys.exit(main())
