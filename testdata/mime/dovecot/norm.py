import sys,re
for l in open(sys.argv[1], encoding='utf-8', errors='replace'):
    l = re.sub(r'^T (OK|NO|BAD)( \[[A-Z-]+\])?.*', r'T \1\2', l)
    l = re.sub(r'^\* \d+ FETCH \(UID \d+\)$', '* FETCH (UID)', l)
    l = l.replace('~{', '{')
    if 'BODY' in l and ('STRUCTURE' in l or 'FETCH (BODY (' in l): l = l.upper()
    sys.stdout.write(l)
