#!/usr/bin/perl
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# reaper.pl: run CMD as a child subreaper that reaps every orphan below it.
# PID 1 on these machines does not reap: without this, every libvirt_lxc
# controller (daemonized by libvirtd) and every exited daemon stays a zombie.
#
#   reaper.pl --all NAME CMD [ARGS...]
#       shows as "lxc-cr-reaper NAME"; runs CMD, reaps every descendant that
#       is orphaned, and exits once no child is left (CMD and whatever it
#       daemonized). For scripts/libvirtd.sh.
#   reaper.pl CMD [ARGS...]
#       exits with CMD's status as soon as CMD exits, after reaping what is
#       already dead (a test wrapper: daemons it started and stopped are
#       reaped, ones still running are not waited for).
#
# perl-base only (Essential on Debian): prctl is syscall 157 on x86_64,
# PR_SET_CHILD_SUBREAPER is 36, WNOHANG is 1.
use strict;
use warnings;

my $all = 0;
if (@ARGV && $ARGV[0] eq '--all') {
    shift @ARGV;
    $0 = "lxc-cr-reaper " . shift(@ARGV);
    $all = 1;
}
die "usage: reaper.pl [--all NAME] CMD [ARGS...]\n" unless @ARGV;
syscall(157, 36, 1, 0, 0, 0) == 0 or die "reaper.pl: PR_SET_CHILD_SUBREAPER: $!\n";
$SIG{INT} = $SIG{HUP} = 'IGNORE' if $all;

my $child = fork() // die "reaper.pl: fork: $!\n";
if ($child == 0) {
    $SIG{INT} = $SIG{HUP} = 'DEFAULT';
    exec { $ARGV[0] } @ARGV or die "reaper.pl: exec $ARGV[0]: $!\n";
}

my $status = 0;
while (1) {
    my $pid = wait();
    last if $pid == -1;                 # no child left
    if ($pid == $child) {
        $status = $? & 127 ? 128 + ($? & 127) : $? >> 8;
        last unless $all;
    }
}
1 while waitpid(-1, 1) > 0;             # what is already dead
exit $status;
