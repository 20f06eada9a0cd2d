# Runs wstest (Autobahn|Testsuite 0.8.2, Python 2.7) with Twisted's listenTCP pinned to
# 127.0.0.1: its fuzzingserver binds every interface and has no option for it. Used by
# tests/clients_differential.rs and measure-speed.sh: python2.7 loopback_wstest.py -m ...
import sys
from twisted.internet import reactor
_listen = reactor.listenTCP
def _loopback(port, factory, backlog=50, interface=''):
    return _listen(port, factory, backlog, '127.0.0.1')
reactor.listenTCP = _loopback
from autobahntestsuite.wstest import run
sys.argv[0] = 'wstest'
sys.exit(run())
