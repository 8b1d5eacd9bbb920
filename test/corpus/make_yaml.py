#!/usr/bin/env python3
"""Write pgroll-examples-yaml/NN_x.yaml from pgroll-examples/NN_x.json.

pgroll's examples are YAML; the corpus keeps them as JSON.  This writes each
one back as YAML the way a person writes it (block style, two-space indent,
plain scalars where YAML reads them back as the same string, double quotes
where a plain scalar would read as a number, boolean or null, or is not a
valid plain scalar, literal blocks (|) for multi-line SQL), so that the
client's YAML reader is tested on the same 56 migrations: each YAML file must
convert to exactly its JSON document (test/t/022_client.pl checks it).

Run from anywhere: python3 test/corpus/make_yaml.py  (needs only Python 3).
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, 'pgroll-examples')
DST = os.path.join(HERE, 'pgroll-examples-yaml')

# YAML 1.2 core schema: what a plain scalar reads as other than a string
NON_STRING = re.compile(
    r'^(|~|null|Null|NULL|true|True|TRUE|false|False|FALSE'
    r'|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+'
    r'|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?'
    r'|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$')
# a conservative set of strings that are valid plain scalars in block context
PLAIN = re.compile(r"^[A-Za-z_(][A-Za-z0-9_ ().,'=<>*+/\[\]-]*$")


def scalar(s):
    if isinstance(s, bool):
        return 'true' if s else 'false'
    if s is None:
        return 'null'
    if isinstance(s, (int, float)):
        return json.dumps(s)
    if (PLAIN.match(s) and not NON_STRING.match(s) and not s.endswith(' ')
            and ': ' not in s and ' #' not in s):
        return s
    return json.dumps(s, ensure_ascii=False)


def literal_ok(s):
    lines = s.split('\n')
    return (s.strip() != '' and not s[0].isspace()
            and all(not l.endswith((' ', '\t')) for l in lines)
            and '\r' not in s and '\t' not in s)


def emit(value, indent, out):
    pad = ' ' * indent
    if isinstance(value, dict):
        for k, v in value.items():
            key = scalar(k)
            if isinstance(v, (dict, list)) and v:
                out.append(f'{pad}{key}:')
                emit(v, indent + 2, out)
            elif isinstance(v, str) and '\n' in v and literal_ok(v):
                chomp = '' if v.endswith('\n') and not v.endswith('\n\n') else '-'
                if v.endswith('\n\n'):
                    chomp = '+'
                out.append(f'{pad}{key}: |{chomp}')
                body = v[:-1] if v.endswith('\n') else v
                for line in body.split('\n'):
                    out.append(f'{pad}  {line}' if line else '')
            elif isinstance(v, dict):
                out.append(f'{pad}{key}: {{}}')
            elif isinstance(v, list):
                out.append(f'{pad}{key}: []')
            else:
                out.append(f'{pad}{key}: {scalar(v)}')
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = []
                emit(item, indent + 2, sub)
                first = sub[0]
                out.append(f'{pad}- {first[indent + 2:]}')
                out.extend(sub[1:])
            else:
                one = []
                emit({'x': item}, 0, one)
                out.append(f'{pad}- {one[0][3:]}')
                out.extend(f'{pad}  {l}' for l in one[1:])
    else:
        out.append(pad + scalar(value))


def main():
    os.makedirs(DST, exist_ok=True)
    names = sorted(f for f in os.listdir(SRC) if f.endswith('.json'))
    for name in names:
        with open(os.path.join(SRC, name), encoding='utf-8') as f:
            doc = json.load(f)
        out = []
        emit(doc, 0, out)
        with open(os.path.join(DST, name[:-5] + '.yaml'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(out) + '\n')
    print(f'wrote {len(names)} files to {DST}', file=sys.stderr)


if __name__ == '__main__':
    main()
