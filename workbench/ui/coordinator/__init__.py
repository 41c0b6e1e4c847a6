"""The coordinator's dashboard: the app and its five tabs, which see the app only as a ``TabContext``."""
