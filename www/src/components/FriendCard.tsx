import { memo } from "react";
import { ProfilePicture } from "avatar-cache/react";

import type { User } from "../api";

interface Props {
  user: User;
  onOpen: (user: User) => void;
  compact?: boolean;
}

export const FriendCard = memo(function FriendCard({ user, onOpen, compact }: Props) {
  return (
    <li className={compact ? "person compact" : "person"}>
      <button className="person-button" onClick={() => onOpen(user)} data-testid={`person-${user.id}`}>
        <ProfilePicture userId={user.id} size={compact ? 56 : 44} alt="" className="avatar" />
        <span className="person-text">
          <span className="person-name">{user.name}</span>
          <span className="person-meta">
            {user.handle}
            {!compact && <> · {user.city}</>}
          </span>
        </span>
      </button>
    </li>
  );
});
