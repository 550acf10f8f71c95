"""Reading, checking and writing ATLAS MLTree ROOT files.

The modules are imported one by one (``pflow_geo.io.reader``,
``pflow_geo.io.inspect``, ...) so that importing the package stays cheap.
"""
