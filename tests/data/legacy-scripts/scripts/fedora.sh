#!/bin/bash
# Fedora comes through quick-fedora-mirror, one configuration per module.
source globalvars
for module in fedora-enchilada fedora-epel; do
    /opt/quick-fedora-mirror/quick-fedora-mirror -c /etc/qfm/${module}.conf
done
