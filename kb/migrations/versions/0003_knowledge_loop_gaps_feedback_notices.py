"""knowledge loop: gaps, feedback, notices

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:51:41.944652
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=1024), nullable=False),
    sa.Column('normalized', sa.String(length=1024), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gaps_normalized'), ['normalized'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_article_id'), ['article_id'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('knowledge_action', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('knowledge_article', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('knowledge_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('loop_rank', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('loop_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('loop_checked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('gap_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_escalations_gap_id'), ['gap_id'], unique=False)
        batch_op.create_foreign_key('fk_escalations_gap_id', 'gaps', ['gap_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_escalations_gap_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_escalations_gap_id'))
        batch_op.drop_column('gap_id')
        batch_op.drop_column('loop_checked_at')
        batch_op.drop_column('loop_detail')
        batch_op.drop_column('loop_rank')
        batch_op.drop_column('knowledge_reason')
        batch_op.drop_column('knowledge_article')
        batch_op.drop_column('knowledge_action')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_user_id'))
        batch_op.drop_index(batch_op.f('ix_notices_at'))

    op.drop_table('notices')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_article_id'))

    op.drop_table('feedback')
    with op.batch_alter_table('gaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gaps_normalized'))

    op.drop_table('gaps')
