from .multilabel_data_preprocessor import MultiLabelSegDataPreProcessor

__all__ = ['MultiLabelSegDataPreProcessor']
