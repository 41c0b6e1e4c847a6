"""Reading and reporting: typed frames, suppression and its audit, the joint-table reports, charts, matching.

Works on what the store holds; never writes. The service hands out scoped frames to screens.
"""
