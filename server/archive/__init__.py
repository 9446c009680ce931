"""The archive (003 第二十五条): finished inspections frozen read-only, their manifest, retention."""
