"""dialer: an outbound call dialer for Asterisk (AMI), compatible with the Voximal dialer."""
import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', Path("dialer/__init__.py").read_text()).group(1)

setup(
    name="dialer",
    version=VERSION,
    description="Outbound call dialer for Asterisk through the Manager Interface",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["dialer", "dialer.*"]),
    include_package_data=True,
    package_data={"dialer": ["data/*", "pbxsim/data/*", "web/templates/*", "web/static/*"]},
    install_requires=[
        "PyMySQL>=1.0.2",
        "pyst2==0.5.1",
        "PyYAML>=6.0",
        "sdnotify>=0.3.2",
        "prometheus-client>=0.16.0",
        "phonenumbers>=8.12",
    ],
    entry_points={
        "console_scripts": [
            "dialer=dialer.cli:main",
            "dialer-pbxsim=dialer.pbxsim.__main__:main",
            "dialer-web=dialer.web.serve:main",
        ],
    },
)
