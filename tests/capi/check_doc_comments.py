#!/usr/bin/env python3
"""capi.doc_comments: every function the public headers declare with TL_API has its comment.

The comment is the block right above the declaration; consecutive declarations may share the one
above the first of them (a group such as the record_* functions). What the comment says is the
convention of docs/c-api.md (ownership, thread, blocking, errors) and is not checked here; only that
no function is declared without one.

    check_doc_comments.py INCLUDE_DIR
"""
import pathlib
import re
import sys


def undocumented(header):
    lines = header.read_text().split('\n')
    found = []
    previous = None  # 'comment', 'declaration' (of a commented group) or None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith('/*'):
            while not lines[i].rstrip().endswith('*/'):
                i += 1
            previous = 'comment'
        elif line.startswith('TL_API'):
            start = i
            while not lines[i].rstrip().endswith(';'):
                i += 1
            match = re.search(r'\b(tl_\w+)\s*\(', ' '.join(lines[start:i + 1]))
            name = match.group(1) if match else lines[start].strip()
            if previous is None:
                found.append(f'{header}:{start + 1}: {name}')
            previous = 'declaration' if previous else None
        else:
            previous = None
        i += 1
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: check_doc_comments.py INCLUDE_DIR')
    headers = sorted(pathlib.Path(sys.argv[1]).rglob('*.h'))
    missing = [entry for header in headers for entry in undocumented(header)]
    if missing:
        print('capi.doc_comments: FAILED: functions without a comment right above them:')
        print('\n'.join(missing))
        return 1
    print(f'capi.doc_comments: {len(headers)} headers, every TL_API function has its comment')
    return 0


if __name__ == '__main__':
    sys.exit(main())
