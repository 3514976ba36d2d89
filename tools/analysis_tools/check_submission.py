"""Validate a submission CSV: ``python tools/analysis_tools/check_submission.py CSV IMAGE_ROOT``."""
import argparse
import sys

from mmseg_ext.utils.submission_check import SubmissionError, check_submission


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('csv', help='submission CSV')
    parser.add_argument('image_root', help='folder of the test images (e.g. test/DCM)')
    args = parser.parse_args()
    try:
        counts = check_submission(args.csv, args.image_root)
    except SubmissionError as err:
        print(f'INVALID: {err}', file=sys.stderr)
        sys.exit(1)
    print(f'OK: {counts["images"]} images, {counts["rows"]} rows in {args.csv}')


if __name__ == '__main__':
    main()
