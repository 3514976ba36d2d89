"""kfold_report.csv: Dice per class and fold, HD95 columns when validation logged them."""
import csv

from mmseg_ext.utils.formats.kfold_report import write_kfold_report

CLASSES = ['a', 'b']


def _rows(path):
    return list(csv.reader(open(path / 'kfold_report.csv')))


def test_dice_only(tmp_path):
    mean = write_kfold_report(str(tmp_path), {
        'fold0': {'mDice': 0.5, 'Dice.a': 0.4, 'Dice.b': 0.6},
        'fold1': {'mDice': 0.7, 'Dice.a': 0.8, 'Dice.b': 0.6}}, CLASSES)
    assert abs(mean - 0.6) < 1e-12
    assert _rows(tmp_path) == [['class', 'fold0', 'fold1', 'mean'],
                               ['a', '0.4000', '0.8000', '0.6000'],
                               ['b', '0.6000', '0.6000', '0.6000'],
                               ['mDice', '0.5000', '0.7000', '0.6000']]
    assert not (tmp_path / 'kfold_report.png').exists()  # the chart is the caller's


def test_hd95_columns_when_every_fold_has_them(tmp_path):
    fold = {'mDice': 0.5, 'Dice.a': 0.4, 'Dice.b': 0.6, 'mHD95': 3.0, 'HD95.a': 2.0,
            'HD95.b': 4.0}
    other = dict(fold, **{'HD95.a': 4.0, 'mHD95': 4.0})
    write_kfold_report(str(tmp_path), {'fold0': fold, 'fold1': other}, CLASSES)
    rows = _rows(tmp_path)
    assert rows[0] == ['class', 'fold0', 'fold1', 'mean', 'fold0_hd95', 'fold1_hd95',
                       'mean_hd95']
    assert rows[1][4:] == ['2.00', '4.00', '3.00'] and rows[-1][4:] == ['3.00', '4.00', '3.50']
