"""The same command as tools/predict.py (kept for its earlier name)."""
import os.path as osp
import runpy

if __name__ == '__main__':
    runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), 'predict.py'),
                   run_name='__main__')
